import { describe, expect, it } from 'vitest';
import type { AcmeStatus } from '../../src/relay/acme/index.js';
import { degradedReasons, metricsFormat, prometheusText, type RelaySnapshot } from '../../src/relay/metrics.js';

const stats = { tunnels: 0, inFlight: 0, requests: 0, violations: 0, kept: 0, dropped: 0, waiting: 0 };
const store = { location: 'memory', up: true, errors: 0, clusterTunnels: 0 };
const acme = (failures: number): AcmeStatus => ({
  ok: failures === 0, challenge: 'http-01', certificates: 1, validUntil: '2030-01-01T00:00:00.000Z', orders: 1, issued: 1, renewed: 0, failures,
  refused: 0, limited: 0, pending: 0,
  failing: failures === 0 ? [] : [{ name: 'relay.example', error: 'no answer', failures, nextAttemptAt: '2029-01-01T00:00:00.000Z', validUntil: '2030-01-01T00:00:00.000Z' }],
});

describe('metricsFormat', () => {
  it('gives Prometheus text to what Prometheus and curl -H "Accept: text/plain" send, JSON to browsers and */*', () => {
    expect(metricsFormat('/_hooktunnel/metrics', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe('prometheus');
    expect(metricsFormat('/_hooktunnel/metrics', 'text/plain')).toBe('prometheus');
    expect(metricsFormat('/_hooktunnel/metrics', 'TEXT/PLAIN; charset=utf-8')).toBe('prometheus');
    expect(metricsFormat('/_hooktunnel/metrics', 'text/html,application/xhtml+xml,*/*;q=0.8')).toBe('json');
    expect(metricsFormat('/_hooktunnel/metrics', '*/*')).toBe('json');
    expect(metricsFormat('/_hooktunnel/metrics', undefined)).toBe('json');
    // q=0 means "not this".
    expect(metricsFormat('/_hooktunnel/metrics', 'text/plain;q=0, application/json')).toBe('json');
    expect(metricsFormat('/_hooktunnel/metrics?format=prometheus', 'application/json')).toBe('prometheus');
    expect(metricsFormat('/_hooktunnel/metrics?format=json', 'text/plain')).toBe('json');
    expect(metricsFormat('/_hooktunnel/metrics?format=yaml', undefined)).toBeUndefined();
  });
});

describe('prometheusText', () => {
  it('escapes HELP text and writes non-finite values as the format spells them', () => {
    expect(prometheusText([{ name: 'x_total', type: 'counter', help: 'a \\ b\nc', value: 3 }, { name: 'y', type: 'gauge', help: 'y', value: Infinity }])).toBe(
      '# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\nx_total 3\n# HELP y y\n# TYPE y gauge\ny +Inf\n',
    );
  });
});

describe('degradedReasons', () => {
  const snapshot = (over: Partial<RelaySnapshot>): RelaySnapshot => ({ stats, store, ...over });

  it('is empty for a healthy relay, and for a renewal that failed once (its retry is pending)', () => {
    expect(degradedReasons(snapshot({}))).toEqual([]);
    expect(degradedReasons(snapshot({ acme: acme(0) }))).toEqual([]);
    expect(degradedReasons(snapshot({ acme: acme(1) }))).toEqual([]);
  });

  it('names a failing store, a renewal failing past its retry, and a missing base certificate', () => {
    expect(degradedReasons(snapshot({ store: { ...store, up: false, error: 'Connection is closed.' } }))).toEqual(['the relay store (memory) is failing: Connection is closed.']);
    expect(degradedReasons(snapshot({ acme: acme(2) }))).toEqual([
      'ACME: renewal of the certificate for relay.example failed 2 times (no answer); next try at 2029-01-01T00:00:00.000Z',
    ]);
    const { validUntil: _gone, ...noBase } = acme(0);
    expect(degradedReasons(snapshot({ acme: noBase }))).toEqual(['ACME: the base certificate is missing']);
  });
});
