// Lighthouse on a phone profile, run after run, in one Chromium:
// `node lighthouse-runs.mjs IN_A_ROW AT_MOST URL...` audits each URL until IN_A_ROW runs in a row
// score 100 in every category, at most AT_MOST times, and prints one JSON line per run. Each run is gathered once and scored twice: with
// Lighthouse's default CPU slowdown (4x, which assumes a fast desktop) and with the slowdown
// Lighthouse's throttling guide prescribes for the speed this run measured (its benchmarkIndex),
// so a machine already as slow as the phone Lighthouse imitates is not slowed down four times more.
import * as chromeLauncher from 'chrome-launcher';
import {navigationGather} from 'lighthouse/core/gather/navigation-runner.js';
import {Runner} from 'lighthouse/core/runner.js';

const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];
// The network is closed here: nothing in Chromium may dial out. Without PaintHolding: in this
// headless Chromium it held a page's first frame back by one or two seconds in about half the
// runs (observed first paint 1.2 or 2.3 s after a 0.3 s load), which Lighthouse's speed index
// multiplies; a reader who comes from another site's link gets no paint holding either.
const CHROME_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-features=PaintHolding'];

// The calculator linked from Lighthouse's docs/throttling.md ("Calibrating multipliers"):
// https://github.com/patrickhulce/lighthouse-cpu-throttling-calculator. Never above Lighthouse's
// own 4x: the calibration only makes up for a machine slower than Lighthouse assumes.
function cpuSlowdownFor(benchmarkIndex) {
  if (benchmarkIndex >= 1300) return Math.min(4, 3 + (benchmarkIndex - 1300) / 233);
  if (benchmarkIndex >= 800) return 2 + (benchmarkIndex - 800) / 500;
  if (benchmarkIndex >= 150) return 1 + (benchmarkIndex - 150) / 650;
  return 1;
}

async function score(artifacts, runnerOptions, cpuSlowdownMultiplier) {
  const {resolvedConfig} = runnerOptions;
  const settings = {...resolvedConfig.settings,
    throttling: {...resolvedConfig.settings.throttling, cpuSlowdownMultiplier}};
  // Simulated throttling applies the slowdown only when scoring, never while gathering, so the
  // run is as if it had been gathered with this setting (Lighthouse checks that they match).
  const {lhr} = await Runner.audit({...artifacts, settings},
      {resolvedConfig: {...resolvedConfig, settings}, computedCache: new Map()});
  return lhr;
}

function summary(lhr) {
  const scores = Object.fromEntries(CATEGORIES.map(id => [id, lhr.categories[id]?.score ?? null]));
  // Every audit that costs a category points, with what Lighthouse says about it.
  const short = [];
  for (const id of CATEGORIES) {
    for (const ref of lhr.categories[id]?.auditRefs ?? []) {
      const audit = lhr.audits[ref.id];
      if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
        short.push({category: id, audit: ref.id, score: audit.score, value: audit.displayValue});
      }
    }
  }
  const metrics = lhr.audits.metrics?.details?.items?.[0] ?? {};
  return {scores, short, metrics: {
    fcp: metrics.firstContentfulPaint, lcp: metrics.largestContentfulPaint,
    si: metrics.speedIndex, tbt: metrics.totalBlockingTime, cls: metrics.cumulativeLayoutShift,
    // What this machine saw before any simulation: the speed index starts from it.
    observedFcp: metrics.observedFirstContentfulPaint, observedSi: metrics.observedSpeedIndex,
    observedLoad: metrics.observedLoad,
    bytes: lhr.audits['total-byte-weight']?.numericValue,
    requests: lhr.audits['network-requests']?.details?.items?.length,
  }, runtimeError: lhr.runtimeError?.code ?? null};
}

// Below this benchmarkIndex the machine is slower than the phone Lighthouse imitates (the
// calculator stops at 1x there): such a run says nothing about the page's speed.
const BUSY_BELOW = 150;

// LIGHTHOUSE_BLOCKED=pattern,...: requests Chromium refuses, so a benchmark can judge the page
// without some of its scripts (bench/beacon_cost.py: the analytics beacons).
const BLOCKED = (process.env.LIGHTHOUSE_BLOCKED || '').split(',').filter(Boolean);

function perfect(result, categories) {
  return !result.runtimeError && categories.every(id => result.scores[id] === 1);
}

async function main() {
  const [inARow, atMost, ...urls] = process.argv.slice(2);
  const streak = Object.fromEntries(urls.map(url => [url, 0]));
  const chrome = await chromeLauncher.launch({chromeFlags: CHROME_FLAGS});
  try {
    for (let run = 1; run <= Number(atMost); run++) {
      // A page that has its runs in a row is done.
      const left = urls.filter(url => streak[url] < Number(inARow));
      if (!left.length) break;
      for (const url of left) {
        const flags = {port: chrome.port, onlyCategories: CATEGORIES, formFactor: 'mobile',
          disableFullPageScreenshot: true, logLevel: 'error', blockedUrlPatterns: BLOCKED};
        const {artifacts, runnerOptions} = await navigationGather(undefined, url, {flags});
        const benchmarkIndex = artifacts.BenchmarkIndex;
        const calibrated = cpuSlowdownFor(benchmarkIndex);
        const asDefault = summary(await score(artifacts, runnerOptions, 4));
        const asCalibrated = summary(await score(artifacts, runnerOptions, calibrated));
        const busy = benchmarkIndex < BUSY_BELOW;
        // A busy run neither extends nor breaks the streak, unless a category that does not
        // depend on speed falls short.
        const judged = busy ? CATEGORIES.filter(id => id !== 'performance') : CATEGORIES;
        if (!perfect(asCalibrated, judged)) streak[url] = 0;
        else if (!busy) streak[url] += 1;
        process.stdout.write(JSON.stringify({url, run, benchmarkIndex, busy,
          cpuSlowdownMultiplier: Math.round(calibrated * 100) / 100, inARow: streak[url],
          calibrated: asCalibrated, default: asDefault}) + '\n');
      }
    }
  } finally {
    chrome.kill();
  }
}

await main();
