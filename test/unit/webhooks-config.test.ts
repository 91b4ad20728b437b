import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadSecrets, parseVerifyList, parseVerifySpec, readVerifyConfig } from '../../src/webhooks/secrets.js';
import { portVariants } from '../../src/webhooks/twilio.js';
import { capturedPublicUrl, senderUrls } from '../../src/webhooks/url.js';

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hooktunnel-verify-'));
  onTestFinished(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('secrets', () => {
  it('parses provider=SECRET (the secret may hold "="), svix as Standard Webhooks, generic with header and encoding', () => {
    expect(parseVerifySpec('github=a=b=')).toEqual({ provider: 'github', secret: 'a=b=' });
    expect(parseVerifySpec('Stripe=whsec_x')).toEqual({ provider: 'stripe', secret: 'whsec_x' });
    expect(parseVerifySpec('svix=whsec_abc')).toEqual({ provider: 'standard', secret: 'whsec_abc' });
    expect(parseVerifySpec('generic:X-Signature=s')).toEqual({ provider: 'generic', header: 'X-Signature', encoding: 'hex', secret: 's' });
    expect(parseVerifySpec('generic:X-Sig:base64=s')).toEqual({ provider: 'generic', header: 'X-Sig', encoding: 'base64', secret: 's' });
  });

  it('refuses bad specs with a message that never contains the secret', () => {
    for (const spec of ['gitub=TOPSECRET', 'TOPSECRET', '=TOPSECRET', 'github=', 'generic=TOPSECRET', 'generic:X Sig=TOPSECRET', 'generic:X:b32=TOPSECRET']) {
      expect(() => parseVerifySpec(spec), spec).toThrow();
      try {
        parseVerifySpec(spec);
      } catch (err) {
        expect((err as Error).message, spec).not.toContain('TOPSECRET');
        expect((err as { code?: string }).code).toBe('invalid_argument');
      }
    }
  });

  it('reads HOOKTUNNEL_VERIFY (commas or whitespace) and config.json (a list, or an object with rotations)', () => {
    expect(parseVerifyList(' github=a, stripe=whsec_b\nslack=c ')).toEqual([
      { provider: 'github', secret: 'a' }, { provider: 'stripe', secret: 'whsec_b' }, { provider: 'slack', secret: 'c' },
    ]);
    // A free-text secret keeps its spaces and commas; the next entry starts at the next provider=.
    expect(parseVerifyList('github=It’s a secret, to everybody generic:X-Sig:base64=s2,')).toEqual([
      { provider: 'github', secret: 'It’s a secret, to everybody' }, { provider: 'generic', header: 'X-Sig', encoding: 'base64', secret: 's2' },
    ]);
    const d = dir();
    expect(readVerifyConfig(d)).toEqual([]);
    writeFileSync(join(d, 'config.json'), JSON.stringify({ verify: { stripe: ['whsec_old', 'whsec_new'], 'generic:X-Hook-Signature:base64': 'g' } }));
    expect(readVerifyConfig(d)).toEqual([
      { provider: 'stripe', secret: 'whsec_old' }, { provider: 'stripe', secret: 'whsec_new' },
      { provider: 'generic', header: 'X-Hook-Signature', encoding: 'base64', secret: 'g' },
    ]);
    writeFileSync(join(d, 'config.json'), JSON.stringify({ verify: ['shopify=s'] }));
    expect(loadSecrets({ flags: ['github=f'], env: { HOOKTUNNEL_VERIFY: 'slack=e' }, dataDir: d }).map((s) => s.provider)).toEqual(['github', 'slack', 'shopify']);
    writeFileSync(join(d, 'config.json'), '{"verify": ');
    expect(() => readVerifyConfig(d)).toThrow(/not valid JSON/);
    writeFileSync(join(d, 'config.json'), JSON.stringify({ verify: { github: 42 } }));
    expect(() => readVerifyConfig(d)).toThrow(/non-empty string/);
  });

  it.skipIf(process.platform === 'win32')('warns when config.json is open to other users, and reads its secrets all the same', () => {
    const d = dir();
    const path = join(d, 'config.json');
    writeFileSync(path, JSON.stringify({ verify: ['github=TOPSECRET'] }));
    const warnings: string[] = [];
    const warn = (m: string): void => void warnings.push(m);
    chmodSync(path, 0o644);
    expect(loadSecrets({ env: {}, dataDir: d, warn })).toEqual([{ provider: 'github', secret: 'TOPSECRET' }]);
    expect(warnings).toEqual([`${path} holds webhook secrets and other users may read or change it (mode 0644); make it private: chmod 600 ${path}`]);
    chmodSync(path, 0o600);
    expect(readVerifyConfig(d, warn)).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });
});

describe('the URL the sender used (Twilio)', () => {
  it('path routing: the /t/<id> part comes back; "/" may have been written with or without the slash', () => {
    const pub = 'http://127.0.0.1:7071/t/abc';
    expect(senderUrls(pub, '/sms?x=1')).toEqual(['http://127.0.0.1:7071/t/abc/sms?x=1']);
    expect(senderUrls(pub, '/')).toEqual(['http://127.0.0.1:7071/t/abc/', 'http://127.0.0.1:7071/t/abc']);
    expect(senderUrls(pub, '/?a=b')).toEqual(['http://127.0.0.1:7071/t/abc/?a=b', 'http://127.0.0.1:7071/t/abc?a=b']);
    expect(senderUrls(pub, '/sms', 'localhost:7071')).toEqual(['http://127.0.0.1:7071/t/abc/sms', 'http://localhost:7071/t/abc/sms']);
    expect(senderUrls('https://hooks.example.com/base/t/abc', '/x', 'hooks.example.com')).toEqual(['https://hooks.example.com/base/t/abc/x']);
  });

  it('subdomain routing: the path is unchanged', () => {
    expect(senderUrls('https://abc.tunnel.example.com', '/sms')).toEqual(['https://abc.tunnel.example.com/sms']);
    expect(senderUrls('https://abc.tunnel.example.com', '/')).toEqual(['https://abc.tunnel.example.com/', 'https://abc.tunnel.example.com']);
  });

  it('rebuilds a capture’s public URL from the relay’s forwarding headers', () => {
    expect(capturedPublicUrl(['Host', 'localhost:3000', 'X-Forwarded-Host', 'relay.example.com:8080', 'X-Forwarded-Proto', 'http'], 'abc')).toBe('http://relay.example.com:8080/t/abc');
    expect(capturedPublicUrl(['X-Forwarded-Host', 'abc.tunnel.example.com', 'X-Forwarded-Proto', 'https'], 'abc')).toBe('https://abc.tunnel.example.com');
    expect(capturedPublicUrl(['Host', 'x'], 'abc')).toBeUndefined();
  });

  it('tries the URL with and without its default port, as Twilio’s validators do', () => {
    expect(portVariants('https://h.example.com/a?b')).toEqual(['https://h.example.com/a?b', 'https://h.example.com:443/a?b']);
    expect(portVariants('http://127.0.0.1:7071/t/x')).toEqual(['http://127.0.0.1:7071/t/x', 'http://127.0.0.1/t/x']);
    expect(portVariants('http://[::1]:80/')).toEqual(['http://[::1]:80/', 'http://[::1]/']);
  });
});
