/** The commented starter file `hooktunnel init` writes. It loads as it is: one tunnel to port 3000. */
export const STARTER_CONFIG = `# hooktunnel.yaml: the webhooks of this project. \`hooktunnel\` in this folder (or below it) starts them all.
# Commit this file; keep secrets out of it: \${NAME} is read from the environment (\${NAME:-default} has a default).
version: 1

# relay: https://relay.example.com     # none: an embedded relay on 127.0.0.1 (this machine only)
# token: \${HOOKTUNNEL_TOKEN}
# dataDir: .hooktunnel                 # captures and tunnel ids, relative to this file (default: your data directory)

# Webhook signatures to check (and to re-sign replays with). Several secrets for one provider while a key rotates.
# verify:
#   stripe: \${STRIPE_WEBHOOK_SECRET}
#   github: \${GITHUB_WEBHOOK_SECRET}

tunnels:
  app:
    # subdomain: my-app                # a stable id, kept between runs
    to: 3000                           # a port, host:port, or a URL with a base path
    # Instead of "to", routes: one public URL, several local services. The first that matches wins.
    # routes:
    #   - name: stripe
    #     match: { path: /stripe, body: { type: "invoice.*" } }   # a JSON body field, with a wildcard
    #     to: 4000
    #     mode: ack                    # answer 202 at once, deliver in the background, retry on 5xx or down
    #     retry: { attempts: 5, delays: [1s, 2s, 5s, 10s] }
    #   - name: github-push
    #     match: { header: { X-GitHub-Event: push } }
    #     to: http://localhost:5000/hooks
    #   - name: url-check
    #     match: { method: GET, path: /slack }
    #     mode: mock                   # a fixed answer, nothing forwarded (also: fail, with a 4xx/5xx status)
    #     mock: { status: 200, body: "ok" }
    #   - to: 3000                     # no match: the default
    # noMatch: { status: 404, body: "no route" }
`;
