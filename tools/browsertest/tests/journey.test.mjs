// Browser tests of the respondent journey: Debian's Chromium driven by
// playwright-core, with JavaScript on and off. Every page visited is checked
// with axe-core (serious or critical violations fail the test) and
// photographed at phone and desktop widths. run.sh starts the platform and
// sets WEB_URL, SURVEY_URL, LINK_TOKEN, INSTRUMENT, CAMPAIGN_ID and TOKEN.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdirSync } from 'node:fs'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
const axePath = require.resolve('axe-core/axe.min.js')
const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} must be set (use run.sh)`); return v }
const WEB = env('WEB_URL')
const start = `${WEB}/s/${env('LINK_TOKEN')}?instrument=${env('INSTRUMENT')}`
const shots = new URL('../screenshots/', import.meta.url).pathname
mkdirSync(shots, { recursive: true })

let browser, auditor
before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] })
  auditor = await browser.newContext({ bypassCSP: true })
})
after(async () => { await browser?.close() })

async function returns () {
  const r = await fetch(`${env('SURVEY_URL')}/v1/campaigns/${env('CAMPAIGN_ID')}/returns`, { headers: { Authorization: `Bearer ${env('TOKEN')}` } })
  assert.equal(r.status, 200)
  return (await r.json()).total
}

// knownGovukIssue is GOV.UK Frontend's documented use of aria-expanded on
// radios and checkboxes that reveal a follow-up question (kept on purpose
// after research with screen reader users: alphagov/govuk-frontend#979).
const knownGovukIssue = (v, n) => v.id === 'aria-allowed-attr' &&
  /class="govuk-(radios|checkboxes)__input"/.test(n.html) && /aria-expanded/.test(n.failureSummary) &&
  !/aria-(?!expanded)[a-z]+=/.test(n.failureSummary)

// check runs axe-core on the page and fails on serious or critical problems.
// A page rendered without JavaScript is copied, scripts removed, into a
// scripted page at the same address so axe can run on exactly that markup.
async function check (page, label, seen, scripted = true) {
  let target = page
  if (!scripted) {
    const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '')
    target = await auditor.newPage()
    await target.goto(`${WEB}/static/app.css`)
    await target.setContent(html, { waitUntil: 'load' })
  }
  await target.addScriptTag({ path: axePath })
  const res = await target.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }))
  if (!scripted) await target.close()
  const bad = []
  for (const v of res.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')) {
    for (const n of v.nodes.filter(n => !knownGovukIssue(v, n))) bad.push(`${v.id}: ${v.help} (${n.target})`)
  }
  assert.deepEqual(bad, [], `axe on ${label}`)
  seen.push(label)
}

// shoot saves the page at phone and desktop widths (JS-on journey only).
async function shoot (page, name) {
  for (const [w, h] of [[375, 812], [1280, 900]]) {
    await page.setViewportSize({ width: w, height: h })
    await page.screenshot({ path: `${shots}${name}-${w}.png` })
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

// answerVisible answers every visible radio group and checkbox group that
// has nothing chosen (first option), and any visible empty text field.
async function answerVisible (page) {
  for (let round = 0; round < 10; round++) {
    const groups = await page.$$eval('form .govuk-radios, form .govuk-checkboxes', els => els.map((el, i) => {
      const visible = !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
      const chosen = el.querySelector(':scope > .govuk-radios__item > input:checked, :scope > .govuk-checkboxes__item > input:checked')
      return visible && !chosen ? i : -1
    }).filter(i => i >= 0))
    if (groups.length === 0) break
    const els = await page.$$('form .govuk-radios, form .govuk-checkboxes')
    await els[groups[0]].$(':scope > div > input').then(i => i.check())
  }
  for (const ta of await page.$$('form textarea:visible')) {
    if (!(await ta.inputValue())) await ta.fill('It has helped a lot.')
  }
}

async function journey (javaScriptEnabled, tag) {
  const context = await browser.newContext({ javaScriptEnabled, bypassCSP: true, viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const seen = []
  const photo = !javaScriptEnabled ? async () => {} : shoot
  await page.goto(start)
  assert.match(await page.locator('h1').innerText(), /\S/)
  await check(page, `${tag} start`, seen, javaScriptEnabled)
  await photo(page, '1-start')
  await page.getByRole('button', { name: 'Start now' }).click()
  await page.waitForURL(/\/agree$/)

  // Continue without choosing: the error summary links to the field.
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.locator('.govuk-error-summary').waitFor()
  if (javaScriptEnabled) {
    // GOV.UK Frontend focuses the summary; following its link focuses the field.
    await page.locator('.govuk-error-summary a').first().click()
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'agree')
  }
  assert.equal(await page.locator('.govuk-error-summary a').first().getAttribute('href'), '#agree')
  await check(page, `${tag} agree error`, seen, javaScriptEnabled)
  await photo(page, '2-agree-error')
  await page.getByLabel('Yes, I agree to take part').check()
  await page.getByRole('button', { name: 'Continue' }).click()

  // Sections: the first post leaves the required question blank on purpose.
  let first = true
  for (let step = 0; step < 30; step++) {
    await page.waitForLoadState()
    if (await page.locator('h1', { hasText: 'Check your answers' }).count()) break
    const heading = await page.locator('h1').innerText()
    await check(page, `${tag} ${heading}`, seen, javaScriptEnabled)
    if (first) {
      await photo(page, '3-section')
      await page.getByRole('button', { name: 'Continue' }).click()
      await page.locator('.govuk-error-summary').waitFor()
      const href = await page.locator('.govuk-error-summary a').first().getAttribute('href')
      assert.match(href, /^#q-/)
      assert.equal(await page.locator(href).count(), 1, `error link ${href} points at a field`)
      await check(page, `${tag} section error`, seen, javaScriptEnabled)
      await photo(page, '4-section-error')
      first = false
    }
    await answerVisible(page)
    await page.getByRole('button', { name: 'Continue' }).click()
  }
  await page.locator('h1', { hasText: 'Check your answers' }).waitFor()
  await check(page, `${tag} check answers`, seen, javaScriptEnabled)
  await photo(page, '5-check-answers')
  const before = await returns()
  await page.getByRole('button', { name: 'Send answers' }).click()
  await page.locator('.govuk-panel--confirmation').waitFor()
  await check(page, `${tag} confirmation`, seen, javaScriptEnabled)
  await photo(page, '6-confirmation')
  assert.equal(await returns(), before + 1, 'survey counted the response')
  await context.close()
  return seen
}

test('respondent completes the survey with JavaScript', async () => {
  const seen = await journey(true, 'js')
  console.log(`axe passed on ${seen.length} pages: ${seen.join('; ')}`)
})

test('respondent completes the survey without JavaScript', async () => {
  const seen = await journey(false, 'no-js')
  console.log(`axe passed on ${seen.length} pages: ${seen.join('; ')}`)
})

test('saying no stores nothing', async () => {
  const context = await browser.newContext({ bypassCSP: true })
  const page = await context.newPage()
  const before = await returns()
  await page.goto(start)
  await page.getByRole('button', { name: 'Start now' }).click()
  await page.getByLabel('No, I do not want to take part').check()
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.locator('h1', { hasText: 'You have chosen not to take part' }).waitFor()
  await check(page, 'declined', [])
  assert.equal(await returns(), before)
  assert.equal((await context.cookies()).filter(c => c.name.startsWith('poet_journey')).length, 0, 'journey cookie deleted')
  await context.close()
})

test('easy read wording can be switched on and stays on', async () => {
  const context = await browser.newContext({ bypassCSP: true })
  const page = await context.newPage()
  await page.goto(start)
  await page.getByRole('link', { name: 'Show easy read wording' }).click()
  await page.getByRole('button', { name: 'Start now' }).click()
  await page.getByRole('link', { name: 'Show the standard wording' }).waitFor()
  await page.getByLabel('Yes, I agree to take part').check()
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('link', { name: 'Show the standard wording' }).waitFor()
  await shoot(page, '7-easy-read')
  await context.close()
})
