// The desk on a phone: Playwright (playwright-core) driving Debian's Chromium headless at a
// 390×844 viewport (an ordinary phone) against a real `yuqing demo` server. Started by
// crates/yuqing/tests/browser.rs (`the_desk_works_on_a_phone`), which passes in:
//   YUQING_URL       http://127.0.0.1:PORT
//   YUQING_ACCOUNTS  {"admin": {"name", "password"}}
//   YUQING_INCIDENT  an open incident
//   YUQING_ALERT     an unacknowledged alert, {"id", "story_id"}
//   YUQING_SHOTS     directory for the screenshots (target/ui-shots-phone)
//   YUQING_CHROMIUM  the browser (default /usr/bin/chromium)
// The on-duty person opens the alert message's link, signs in, lands back on the linked page and
// acknowledges (签收) with one tap; then every main page is checked for horizontal scrolling and
// tap targets, with a screenshot of each. Every check throws on failure.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = need('YUQING_URL');
const accounts = JSON.parse(need('YUQING_ACCOUNTS'));
const incident = Number(need('YUQING_INCIDENT'));
const alert = JSON.parse(need('YUQING_ALERT'));
const shots = need('YUQING_SHOTS');
mkdirSync(shots, { recursive: true });

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

const PHONE = { width: 390, height: 844 };
const MIN_TAP = 44;

const browser = await chromium.launch({
  executablePath: process.env.YUQING_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

let step = 0;
async function shot(page, name) {
  step += 1;
  const file = join(shots, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

function check(what, fn) {
  return fn().then(() => console.log(`ok  ${what}`), (e) => { e.message = `${what}: ${e.message}`; throw e; });
}

/** The page does not scroll sideways, and every control one taps is at least 44 px tall. */
async function fitsAPhone(page, path) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${path}: the page scrolls sideways (${scrollWidth} > ${innerWidth})`);
  const small = await page.evaluate((min) => {
    const out = [];
    for (const el of document.querySelectorAll('header a, header input, header button, main a, main button, main input, main select, main textarea, main summary')) {
      if (el.type === 'hidden') continue;
      // Words of a chart drawn in SVG (the word cloud) are not counted as controls.
      if (el instanceof SVGElement) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') continue;
      let r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not rendered (inside a closed <details>)
      // A checkbox or radio is tapped through its label.
      if ((el.type === 'checkbox' || el.type === 'radio') && el.closest('label')) r = el.closest('label').getBoundingClientRect();
      if (r.height < min - 0.5) {
        out.push(`${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''} “${(el.innerText || el.value || el.name || '').trim().slice(0, 20)}” ${r.height.toFixed(1)}px`);
      }
    }
    return out;
  }, MIN_TAP);
  assert.deepEqual(small, [], `${path}: tap targets under ${MIN_TAP}px`);
}

try {
  const context = await browser.newContext({
    viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 1, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // --- From the alert message's link: sign in, back to the link, 签收 in one tap.
  const link = `/stories/${alert.story_id}`;
  await page.goto(`${base}${link}`);
  await check('the link leads a stranger to the sign-in form, which fits the phone', async () => {
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), link);
    await fitsAPhone(page, '/login');
  });
  await shot(page, 'login');
  await page.fill('input[name=name]', accounts.admin.name);
  await page.fill('input[name=password]', accounts.admin.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.tap('form button[type=submit]')]);
  const ack = page.locator(`form.ack[action="/alerts/${alert.id}/ack"] button`);
  await check('signing in leads back to the linked page, with the 签收 button on the first screen', async () => {
    assert.equal(new URL(page.url()).pathname, link);
    assert.equal(await ack.count(), 1, 'one 签收 button for the alert');
    const box = await ack.boundingBox();
    assert.ok(box.y + box.height <= PHONE.height, `the button is on the first screen (y=${box.y})`);
    assert.ok(box.height >= MIN_TAP && box.width >= 200, `a large button (${box.width}×${box.height})`);
    await fitsAPhone(page, link);
  });
  await shot(page, 'alert-link');
  await Promise.all([page.waitForNavigation(), ack.tap()]);
  await check('one tap acknowledges the alert and says who did', async () => {
    assert.equal(new URL(page.url()).pathname, link);
    assert.equal(await page.locator(`form.ack[action="/alerts/${alert.id}/ack"]`).count(), 0, 'no button any more');
    assert.match(await page.locator('main').innerText(), new RegExp(`预警 #${alert.id} 已由 ${accounts.admin.name} 于 .* 签收`));
  });
  await shot(page, 'alert-acknowledged');

  // --- The main pages at phone size.
  await page.goto(`${base}/stories`);
  const story = await page.locator('main table a[href^="/stories/"]').first().getAttribute('href');
  for (const [path, name, needle] of [
    ['/', 'dashboard', /今日帖文/],
    ['/posts', 'posts', /帖文|信息/],
    ['/stories', 'stories', /舆情事件/],
    [story, 'story', /定级依据/],
    ['/themes', 'themes', /专题/],
    ['/incidents', 'incidents', /工单/],
    [`/incidents/${incident}`, 'incident', /时限/],
    ['/alerts', 'alerts', /预警/],
    ['/reports', 'reports', /报表|日报/],
    ['/rules', 'rules', /监测规则|规则/],
    ['/sources', 'sources', /信息源/],
    ['/duty', 'duty', /值班/],
    ['/system', 'system', /审计|系统/],
  ]) {
    const resp = await page.goto(`${base}${path}`);
    await check(`${path} fits a phone`, async () => {
      assert.equal(resp.status(), 200);
      assert.match(await page.locator('body').innerText(), needle);
      await fitsAPhone(page, path);
    });
    await shot(page, name);
  }

  await check('the menu reaches every section from a phone', async () => {
    await page.goto(`${base}/`);
    const links = page.locator('header nav a');
    assert.ok((await links.count()) >= 10, 'the menu is there');
    const last = links.filter({ hasText: '系统' });
    await last.scrollIntoViewIfNeeded();
    const box = await last.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `系统 can be brought into view: ${JSON.stringify(box)}`);
    await Promise.all([page.waitForURL(/\/system/), last.tap()]);
  });

  assert.deepEqual(errors, [], 'no script errors');
  await context.close();
  console.log('all phone checks passed');
} finally {
  await browser.close();
}
