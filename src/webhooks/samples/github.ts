import { json, randomUUID, type Sample } from './sample.js';

const repository = {
  id: 1296269, node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5', name: 'hello-world', full_name: 'octo-org/hello-world', private: false,
  owner: { login: 'octo-org', id: 6811672, type: 'Organization' },
  html_url: 'https://github.com/octo-org/hello-world', default_branch: 'main',
};
const sender = { login: 'octocat', id: 583231, type: 'User', html_url: 'https://github.com/octocat' };

function headers(event: string): string[] {
  return [
    'User-Agent', 'GitHub-Hookshot/4f2c1a7', 'Content-Type', 'application/json', 'X-GitHub-Event', event,
    'X-GitHub-Delivery', randomUUID(), 'X-GitHub-Hook-ID', '471105937',
    'X-GitHub-Hook-Installation-Target-Type', 'repository', 'X-GitHub-Hook-Installation-Target-ID', String(repository.id),
  ];
}

const iso = (now: number): string => new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');

/** GitHub samples, shaped like the payloads in GitHub's webhook events documentation. */
export const githubSamples: Sample[] = [
  {
    provider: 'github', event: 'ping', description: 'sent when a webhook is created',
    build: () => ({ headers: headers('ping'), body: json({ zen: 'Keep it logically awesome.', hook_id: 471105937, hook: { type: 'Repository', id: 471105937, active: true, events: ['push', 'pull_request', 'issues'] }, repository, sender }) }),
  },
  {
    provider: 'github', event: 'push', description: 'one commit pushed to main',
    build(now) {
      const after = randomUUID().replace(/-/g, '').padEnd(40, '0').slice(0, 40);
      const commit = { id: after, message: 'Fix the typo in the README', timestamp: iso(now), url: `https://github.com/octo-org/hello-world/commit/${after}`, author: { name: 'Mona Octocat', email: 'mona@example.com', username: 'octocat' }, added: [], removed: [], modified: ['README.md'] };
      return { headers: headers('push'), body: json({ ref: 'refs/heads/main', before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', after, created: false, deleted: false, forced: false, compare: `https://github.com/octo-org/hello-world/compare/6113728f27ae...${after.slice(0, 12)}`, commits: [commit], head_commit: commit, pusher: { name: 'octocat', email: 'mona@example.com' }, repository, sender }) };
    },
  },
  {
    provider: 'github', event: 'pull_request', description: 'a pull request opened',
    build(now) {
      const pull_request = { id: 1785936412, number: 42, state: 'open', title: 'Add webhook signature checks', body: 'Closes #7.', user: sender, created_at: iso(now), updated_at: iso(now), draft: false, html_url: 'https://github.com/octo-org/hello-world/pull/42', head: { ref: 'signatures', sha: 'c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff' }, base: { ref: 'main', sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' }, merged: false, commits: 3, additions: 120, deletions: 8, changed_files: 6 };
      return { headers: headers('pull_request'), body: json({ action: 'opened', number: 42, pull_request, repository, sender }) };
    },
  },
  {
    provider: 'github', event: 'issues', description: 'an issue opened',
    build(now) {
      const issue = { id: 2093410117, number: 7, title: 'Webhook-aware signatures', body: 'Tell whether each captured event carries a valid signature.', state: 'open', user: sender, labels: [{ name: 'enhancement' }], comments: 0, created_at: iso(now), updated_at: iso(now), html_url: 'https://github.com/octo-org/hello-world/issues/7' };
      return { headers: headers('issues'), body: json({ action: 'opened', issue, repository, sender }) };
    },
  },
];
