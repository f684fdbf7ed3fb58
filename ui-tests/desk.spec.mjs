// Browser tests of the yuqing web desk: Playwright (playwright-core) driving Debian's Chromium
// headless against a real `yuqing demo` server. Started by crates/yuqing/tests/browser.rs, which
// builds the demo, creates the accounts and passes everything in through the environment:
//   YUQING_URL       http://127.0.0.1:PORT
//   YUQING_ACCOUNTS  {"admin": {"name", "password"}, "officer": …, "head": …, "approver": …, "office": …}
//   YUQING_INCIDENT  an open grade III/IV incident in 待研判, led by the head's department
//   YUQING_FALSE_ALARM_INCIDENT  another open incident in 待研判, which the office marks 误报
//   YUQING_SHOTS     directory for the screenshots (target/ui-shots)
//   YUQING_CHROMIUM  the browser (default /usr/bin/chromium)
// Every check throws on failure; the process exits non-zero and the Rust test fails with the output.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = need('YUQING_URL');
const accounts = JSON.parse(need('YUQING_ACCOUNTS'));
const incident = Number(need('YUQING_INCIDENT'));
const falseAlarmIncident = Number(need('YUQING_FALSE_ALARM_INCIDENT'));
const shots = need('YUQING_SHOTS');
mkdirSync(shots, { recursive: true });

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

const browser = await chromium.launch({
  executablePath: process.env.YUQING_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // The machine has no outside network: keep Chromium from trying to reach Google's services.
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

// Every page is watched for Content-Security-Policy violations (the desk sends a strict policy:
// no inline script or style); any is a failure at the end.
const cspViolations = [];
async function watchCsp(page) {
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page.on('console', (m) => {
    if (/CSP violation|Content Security Policy/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
  });
}

function check(what, fn) {
  return fn().then(() => console.log(`ok  ${what}`), (e) => { e.message = `${what}: ${e.message}`; throw e; });
}

/** A fresh browser context signed in as `who` through the sign-in form. */
async function signedIn(who, viewport = { width: 1440, height: 900 }) {
  const account = accounts[who];
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  await watchCsp(page);
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login/, 'a stranger is sent to the sign-in form');
  await page.fill('input[name=name]', account.name);
  await page.fill('input[name=password]', account.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('form button[type=submit]')]);
  return { context, page, errors };
}

/** Clicks the submit button of the incident form whose hidden `action` is `action`. */
async function act(page, action, fields = {}, button) {
  let form = page.locator(`form.act:has(input[name=action][value="${action}"])`);
  if (button) form = form.filter({ has: page.locator('button', { hasText: button }) });
  assert.equal(await form.count(), 1, `exactly one “${action}” form on the page`);
  for (const [name, value] of Object.entries(fields)) {
    await form.locator(`[name=${name}]`).fill(value);
  }
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);
  const notices = await page.locator('p.notice').allTextContents();
  assert.deepEqual(notices, [], `“${action}” was refused`);
  assert.equal(new URL(page.url()).pathname, `/incidents/${incident}`, `“${action}” ends on the incident page`);
  console.log(`ok  ${action}${button ? ` (${button})` : ''}`);
}

try {
  // --- Sign in: the form, then the dashboard.
  {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN' });
    const page = await context.newPage();
    await watchCsp(page);
    const resp = await page.goto(`${base}/login`);
    await check('the sign-in form renders', async () => {
      await page.locator('input[name=password]').waitFor();
      const csp = resp.headers()['content-security-policy'] || '';
      assert.match(csp, /default-src 'self'/, `a strict Content-Security-Policy: ${csp}`);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.equal(resp.headers()['x-frame-options'], 'DENY');
      // The style sheet applies under the policy: the sign-in button is styled.
      const bg = await page.evaluate(() => getComputedStyle(document.querySelector('form button')).backgroundColor);
      assert.equal(bg, 'rgb(31, 95, 191)', `the sign-in page's styles load: ${bg}`);
      assert.equal(await page.locator('input[name=_csrf]').count(), 1, 'the form carries its CSRF token');
    });
    await shot(page, 'login');
    await page.fill('input[name=name]', accounts.admin.name);
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('form button[type=submit]');
    await check('a wrong password is refused on the form', async () => {
      assert.match(page.url(), /\/login/);
      assert.match(await page.locator('body').innerText(), /用户名或密码不正确|密码/);
    });
    await context.close();
  }

  const admin = await signedIn('admin');
  {
    const page = admin.page;
    await check('the dashboard shows numbers and charts filled from the demo data', async () => {
      const text = await page.locator('body').innerText();
      assert.match(text, /今日帖文/);
      assert.match(text, /近 7 天帖文/);
      // Bars of the volume charts: drawn as SVG by the server, one rect per bucket with posts.
      const bars = await page.locator('svg rect').count();
      assert.ok(bars >= 10, `volume charts have bars (${bars})`);
      const heights = await page.locator('svg rect').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height') || 0)));
      assert.ok(heights.filter((h) => h > 0).length >= 5, `bars have heights: ${heights.slice(0, 20)}`);
      assert.match(text, /热点事件/);
      // The source and topic bars take their widths from the style sheet (no inline styles).
      const widths = await page.locator('ol.bars i').evaluateAll((is) => is.map((i) => i.getBoundingClientRect().width));
      assert.ok(widths.length > 0 && Math.max(...widths) > 20, `list bars have widths: ${widths}`);
    });
    await shot(page, 'dashboard');

    // --- Search on the post stream: highlighted hits.
    await page.goto(`${base}/posts`);
    await page.fill('input[name=q]', '双黄连');
    await Promise.all([page.waitForURL(/[?&]q=/), page.locator('input[name=q]').press('Enter')]);
    await check('a search returns hits with the term highlighted', async () => {
      const marks = await page.locator('mark').allTextContents();
      assert.ok(marks.length > 0, 'at least one highlighted hit');
      assert.ok(marks.every((m) => m.includes('双黄连')), `highlights are the term: ${marks.slice(0, 5)}`);
    });
    await shot(page, 'search');

    // --- The other pages render for the admin (one screenshot each).
    for (const [path, name, needle] of [
      ['/stories', 'stories', /舆情事件|级/],
      ['/incidents', 'incidents', /工单/],
      [`/incidents/${incident}`, 'incident', /处置工单/],
      ['/rules?expr=%E5%8F%A3%E7%BD%A9%20%26%20%E5%A4%8D%E5%B7%A5', 'rules', /语法正确/],
      ['/duty', 'duty', /值班/],
      ['/sources', 'sources', /信息源/],
      ['/reports', 'reports', /报表|日报/],
      ['/system', 'system', /审计/],
    ]) {
      const resp = await page.goto(`${base}${path}`);
      await check(`${path} renders`, async () => {
        assert.equal(resp.status(), 200);
        assert.match(await page.locator('body').innerText(), needle);
      });
      await shot(page, name);
    }
    await page.goto(`${base}/stories`);
    await page.locator('a[href^="/stories/"]').first().click();
    await check('a story page shows its grade reason and heat chart', async () => {
      assert.match(await page.locator('body').innerText(), /定级依据/);
      assert.ok((await page.locator('svg').count()) > 0);
    });
    await shot(page, 'story');

    // --- 专题: from the menu to a theme, its stories, and back from a story to its themes.
    await page.locator('header a[href="/themes"]').click();
    await check('the themes page lists the configured themes with counts', async () => {
      const text = await page.locator('main').innerText();
      assert.match(text, /疫情防控/);
      assert.match(text, /复工复产/);
      assert.ok((await page.locator('main a[href^="/themes/"]').count()) >= 4);
    });
    await shot(page, 'themes');
    await page.locator('main a[href^="/themes/"]').first().click();
    await check('a theme shows its daily posts and its stories, graded first', async () => {
      const text = await page.locator('main').innerText();
      assert.match(text, /每日命中帖文/);
      assert.ok((await page.locator('main svg.chart').count()) === 1, 'the daily chart');
      assert.ok((await page.locator('main table a[href^="/stories/"]').count()) >= 5, 'its stories');
    });
    await shot(page, 'theme');
    await page.locator('main table a[href^="/stories/"]').first().click();
    await check('the story names the themes it belongs to', async () => {
      assert.match(await page.locator('main').innerText(), /专题：.*疫情防控/);
    });
    assert.deepEqual(admin.errors, [], `no script errors on the admin's pages: ${admin.errors}`);
  }

  // --- The admin adds an officer of another department on the 系统 page …
  {
    const page = admin.page;
    await page.goto(`${base}/system`);
    const form = page.locator('form[action="/system/users"]');
    await form.locator('[name=name]').fill(accounts.officer.name);
    await form.locator('[name=display_name]').fill('其他单位信息员');
    await form.locator('[name=role]').selectOption('officer');
    await form.locator('[name=department]').fill(accounts.officer.department);
    await form.locator('[name=password]').fill(accounts.officer.password);
    await Promise.all([page.waitForNavigation(), form.locator('button').click()]);
    await check('the admin adds a person on the 系统 page and sees the token once', async () => {
      const notice = await page.locator('p.notice').innerText();
      assert.match(notice, new RegExp(`已新增用户 ${accounts.officer.name}`));
      assert.match(notice, /yq_[0-9a-f]+/);
    });
    await shot(page, 'system-user-added');
  }

  // --- … who, opening this incident of another department, gets 403.
  {
    const officer = await signedIn('officer');
    const resp = await officer.page.goto(`${base}/incidents/${incident}`);
    await check("an officer opening another department's incident gets 403", async () => {
      assert.equal(resp.status(), 403);
      assert.match(await officer.page.locator('body').innerText(), /只能查看本单位/);
    });
    await shot(officer.page, 'officer-403');
    await officer.context.close();
  }

  // --- A statement from draft to approved, clicking through as the people of the chain.
  const office = await signedIn('office');
  const head = await signedIn('head');
  const approver = await signedIn('approver');
  const open = async (who) => { await who.page.goto(`${base}/incidents/${incident}`); return who.page; };

  // A dashboard stays open meanwhile: it must update itself (server-sent event → fragment swap).
  const watcher = await signedIn('admin');
  // Act only once the page's event stream is open (the server takes its baseline then).
  await Promise.all([watcher.page.waitForResponse((r) => new URL(r.url()).pathname === '/events'), watcher.page.reload()]);
  await watcher.page.evaluate(() => {
    window.__notReloaded = true;
    for (const el of document.querySelectorAll('#overview > *')) el.__before = true;
  });

  let page = await open(office);
  await act(page, 'report', { summary: '网民反映情况，已初步研判，转责任单位核查。' });
  await check('the office reports the incident', async () => assert.match(await page.locator('body').innerText(), /已上报/));
  await check('the open dashboard updates live, without a reload', async () => {
    // The swapped-in fragment consists of new nodes, none of them marked.
    await watcher.page.waitForFunction(() => {
      const kids = [...document.querySelectorAll('#overview > *')];
      return kids.length > 0 && kids.every((el) => !el.__before);
    }, null, { timeout: 30_000 });
    assert.equal(await watcher.page.evaluate(() => window.__notReloaded), true);
  });
  await watcher.context.close();

  page = await open(head);
  await act(page, 'start_verification');
  await act(page, 'submit_verification', { findings: '经核查，反映的情况基本属实，已责成相关科室整改。' });
  await act(page, 'draft_statement', { title: '情况通报', text: '经核查，网民反映的情况基本属实。我委已责成相关单位立即整改。' }, '起草新口径');
  await act(page, 'draft_statement', { text: '经核查，网民反映的情况基本属实。我委已责成相关单位立即整改，并将于三日内公布整改结果。' }, '保存新版本');
  await check('the draft shows its version diff', async () => {
    const html = await page.content();
    assert.ok(/<ins|class="ins"|diff/.test(html), 'a diff between version 1 and 2 is shown');
  });
  await shot(page, 'statement-draft');
  await act(page, 'submit_for_approval');
  await act(page, 'approve', {}, '责任单位负责人');
  await check('the head signed; the approver is next', async () => {
    assert.match(await page.locator('body').innerText(), /待审批/);
    assert.equal(await page.locator('form.act:has(input[name=action][value="approve"])').count(), 0, 'no second signature for the head');
  });

  page = await open(approver);
  await act(page, 'approve', {}, '分管领导');
  page = await open(office);
  await act(page, 'approve', {}, '办公室');
  await check('the statement is approved and locked', async () => {
    const text = await page.locator('body').innerText();
    assert.match(text, /已审定/);
    assert.equal(await page.locator('form.act:has(input[name=action][value="draft_statement"]) button:has-text("保存新版本")').count(), 0,
      'approved text can no longer be edited');
    assert.ok((await page.locator('form.act:has(input[name=action][value="publish"])').count()) === 1, 'the office may publish it now');
  });
  await shot(page, 'statement-approved');
  // --- The office edits a watch rule: test it on last week's posts, see a syntax error at its
  // place, then save; the list shows the edit and its version history.
  {
    page = office.page;
    await page.goto(`${base}/rules`);
    await page.locator('table a[href^="/rules?edit="]').first().click();
    const name = await page.locator('form[action="/rules"][method=get] input[name=name]').inputValue();
    assert.ok(name.length > 0, 'the edit link fills in the rule');
    const expr = page.locator('form[action="/rules"][method=get] input[name=expr]');
    await expr.fill('(口罩 | 复工) &&');
    await Promise.all([page.waitForNavigation(), expr.press('Enter')]);
    await check('a broken rule shows its error at the position', async () => {
      assert.equal(await page.locator('mark.err').count(), 1);
      assert.equal(await page.locator('form[method=post][action="/rules"]').count(), 0, 'no save offered for a broken rule');
    });
    await page.locator('form[action="/rules"][method=get] input[name=expr]').fill('(口罩 | 复工) & !招聘');
    await Promise.all([page.waitForNavigation(), page.locator('form[action="/rules"][method=get] button').click()]);
    await check('a valid rule is tested on the last 7 days with samples', async () => {
      const text = await page.locator('main').innerText();
      assert.match(text, /语法正确/);
      const n = Number((text.match(/命中 (\d+) 条/) || [])[1]);
      assert.ok(n > 0, `the replayed week holds matching posts (${n})`);
      assert.ok((await page.locator('div.post').count()) > 0);
    });
    await Promise.all([page.waitForNavigation(), page.locator('form[method=post][action="/rules"] button').click()]);
    await check('the office saves the rule; the list and history show it', async () => {
      assert.match(await page.locator('p.notice').innerText(), new RegExp(`已保存规则“${name}”`));
      assert.match(await page.locator('table').first().innerText(), /网页修改/);
      assert.match(await page.locator('main').innerText(), /历次保存/);
    });
    await shot(page, 'rule-saved');
  }

  // --- A story's brief, then the office splits two posts out of it and merges them back.
  {
    page = office.page;
    await page.goto(`${base}/stories`);
    await page.locator('main a[href^="/stories/"]').first().click();
    const storyPath = new URL(page.url()).pathname;
    await check('the story page shows a brief whose sentences cite posts', async () => {
      const brief = page.locator('section.brief');
      assert.equal(await brief.count(), 1);
      assert.match(await brief.innerText(), /研判摘要/);
      assert.match(await brief.innerText(), /事件概要/);
      const cites = await brief.locator('a.cite').count();
      assert.ok(cites >= 1, `the brief links its posts (${cites})`);
      // A citation leads to its post (on this page, or through /posts/{id} to its story).
      const href = await brief.locator('a.cite').first().getAttribute('href');
      assert.match(href, /^(#p\d+|\/posts\/\d+)$/);
    });
    await shot(page, 'story-brief');
    const boxes = page.locator('input[type=checkbox][name=post]');
    assert.ok((await boxes.count()) >= 3, 'a box beside each post');
    const moved = [await boxes.nth(0).getAttribute('value'), await boxes.nth(1).getAttribute('value')];
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    const split = page.locator('form#split');
    await split.locator('[name=reason]').fill('浏览器测试：这两条是另一件事');
    await Promise.all([page.waitForNavigation(), split.locator('button').click()]);
    const newPath = new URL(page.url()).pathname;
    await check('the two posts now form a story of their own, with its history', async () => {
      assert.notEqual(newPath, storyPath);
      const text = await page.locator('main').innerText();
      assert.match(text, /已保存人工调整/);
      assert.match(text, /拆分而来/);
      for (const id of moved) assert.equal(await page.locator(`#p${id}`).count(), 1, `post ${id} moved here`);
    });
    await shot(page, 'story-split');
    await page.goto(`${base}${storyPath}`);
    const merge = page.locator('form#merge');
    await merge.locator('[name=from]').fill(newPath.split('/').pop());
    await merge.locator('[name=reason]').fill('浏览器测试：合回原事件');
    await Promise.all([page.waitForNavigation(), merge.locator('button').click()]);
    await check('merged back: the posts are home and the split-off story leads here', async () => {
      assert.equal(new URL(page.url()).pathname, storyPath);
      assert.match(await page.locator('main').innerText(), /并入本事件/);
      const resp = await page.goto(`${base}${newPath}`);
      assert.equal(new URL(page.url()).pathname, storyPath, `${newPath} redirects (${resp.status()})`);
      assert.match(await page.locator('main').innerText(), /已并入本事件/);
    });
    await shot(page, 'story-merged');
  }

  // --- 误报: the office marks an incident 误报; it closes, its story is marked and stops being
  // graded, and the 监测规则 page counts it.
  {
    page = office.page;
    await page.goto(`${base}/incidents/${falseAlarmIncident}`);
    const form = page.locator('form.act:has(input[name=action][value="mark_false_alarm"])');
    assert.equal(await form.count(), 1, 'the 标记误报 form is offered at 待研判');
    await form.locator('[name=reason]').fill('浏览器测试：外地事件，非本地');
    await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').click()]);
    await check('the incident is closed as 误报, with the reason', async () => {
      assert.equal(new URL(page.url()).pathname, `/incidents/${falseAlarmIncident}`);
      const text = await page.locator('main').innerText();
      assert.match(text, /已按误报关闭/);
      assert.match(text, /外地事件，非本地/);
      assert.equal(await page.locator('form.act:has(input[name=action][value="mark_false_alarm"])').count(), 0);
    });
    await shot(page, 'incident-false-alarm');
    await page.locator('main a[href^="/stories/"]').first().click();
    await check('its story is marked 误报 and offers to withdraw it', async () => {
      const text = await page.locator('main').innerText();
      assert.match(text, /已标记误报/);
      assert.equal(await page.locator('section.false-alarm button', { hasText: '撤销误报' }).count(), 1);
    });
    await shot(page, 'story-false-alarm');
    await page.goto(`${base}/rules`);
    await check('the 监测规则 page counts false alarms per rule and shows the learning', async () => {
      const head = await page.locator('table').first().locator('thead').innerText();
      assert.match(head, /其中误报/);
      const text = await page.locator('main').innerText();
      assert.match(text, /误报学习/);
      assert.match(text, /外地事件，非本地/);
      assert.ok(!/现有学习样本 0 个/.test(text), 'the mark is a learning example');
    });
  }

  for (const who of [office, head, approver]) {
    assert.deepEqual(who.errors, [], `no script errors: ${who.errors}`);
    await who.context.close();
  }

  // --- The big-screen mode of the dashboard.
  {
    const big = await signedIn('admin', { width: 1920, height: 1080 });
    const resp = await big.page.goto(`${base}/?screen=1`);
    await check('the big-screen mode renders dark, full width, with its charts', async () => {
      assert.equal(resp.status(), 200);
      assert.equal(await big.page.locator('body.big').count(), 1);
      const bg = await big.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g).map(Number);
      assert.ok(r + g + b < 150, `dark background: ${bg}`);
      assert.ok((await big.page.locator('svg rect').count()) >= 10);
    });
    await shot(big.page, 'big-screen');
    await big.context.close();
  }
  await admin.context.close();
  await check('no page broke the Content-Security-Policy', async () => {
    assert.deepEqual(cspViolations, [], cspViolations.join('\n'));
  });
  console.log('all browser checks passed');
} finally {
  await browser.close();
}
