// The team's page in a real browser: Debian's chromium (/usr/bin/chromium, installed by .ci/run), headless, driven by
// puppeteer-core. The page written by `deploy report --html` loads from disk with no console error and no request
// other than itself, shows every section and the waiting plan's diff, and a screenshot is kept for a person to look at
// (.c2c/test-output/report-page/page.png).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { Browser } from 'puppeteer-core';
import { pageFixture, PageFixture } from '../helpers/page-fixture';

/** Debian's chromium package puts the browser here. */
const CHROMIUM = '/usr/bin/chromium';
const output = join(__dirname, '../../.c2c/test-output/report-page');

let f: PageFixture;
let browser: Browser;
let file: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  f = await pageFixture();
  file = join(f.dir, 'page.html');
  const r = await f.deploy(['report', '--html', file, '--plans', f.plansDir]);
  if (r.code !== 0) throw new Error(`deploy report --html exited ${r.code}: ${r.stderr}`);
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await f?.close();
});

it('loads with no console error and no request but itself; every section, the charts and a plan diff are visible', async () => {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
  page.on('request', (req) => requests.push(req.url()));
  const url = pathToFileURL(file).href;
  const res = await page.goto(url, { waitUntil: 'load' });
  expect(res?.ok()).toBe(true);
  expect(problems).toEqual([]);
  expect(requests).toEqual([url]);

  const visible = (selector: string) =>
    page.$eval(selector, (el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    });
  for (const id of [
    'verification',
    'dora',
    'deploys',
    'lead-time',
    'change-failure-rate',
    'time-to-restore',
    'fleet',
    'approvals',
    'audit',
  ]) {
    expect([id, await visible(`#${id}`)]).toEqual([id, true]);
  }
  expect(await page.$$eval('figure .chart svg', (svgs) => svgs.length)).toBe(4);
  // Chart text is text (selectable), not pixels.
  expect(await page.$$eval('#lead-time svg text', (ts) => ts.map((t) => t.textContent))).toContain('1h to 4h');
  const diff = await page.$eval('article.plan pre.diff', (el) => el.textContent ?? '');
  expect(diff).toContain('~ container.docker.image: "reg:5000/web:v1" -> "reg:5000/web:v2"');
  expect(await visible('article.plan pre.diff')).toBe(true);
  expect(await page.$eval('article.plan', (el) => el.textContent ?? '')).toContain('6 commits in one release, more than 5');

  mkdirSync(output, { recursive: true });
  const shot = join(output, 'page.png');
  await page.screenshot({ path: shot, fullPage: true });
  expect(statSync(shot).size).toBeGreaterThan(10_000);
  await page.close();
}, 60_000);
