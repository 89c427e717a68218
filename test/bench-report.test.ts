/**
 * The benches' measuring and reporting parts: the log-linear latency histogram's percentile math
 * (against exact percentiles of sorted samples) and the HTML report writer (a well-formed,
 * self-contained document with its charts, plus the JSON beside it).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Conn } from '../bench/conn.js';
import { Histogram, SUB_BUCKETS, bucketOf, bucketRange } from '../bench/histogram.js';
import { openLoop } from '../bench/load.js';
import { Report, escapeHtml, lineChart, linearTicks, logTicks, percentileChart, timeChart } from '../bench/report.js';

/** The exact percentile as the histogram defines it: the value of rank ceil(p/100 * n). */
function exact(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('Histogram', () => {
  it('is exact below 2 * SUB_BUCKETS', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    expect(h.count).toBe(100);
    expect([h.min, h.max]).toEqual([1, 100]);
    expect(h.valueAt(50)).toBe(50);
    expect(h.valueAt(99)).toBe(99);
    expect(h.valueAt(99.9)).toBe(100);
    expect(h.valueAt(100)).toBe(100);
    expect(h.valueAt(0)).toBe(1);
    expect(h.mean()).toBe(50.5);
  });

  it('buckets tile the value range: each holds its values, none overlap, none are missing', () => {
    for (let i = 0; i < 20 * SUB_BUCKETS; i++) {
      const [lo, hi] = bucketRange(i);
      expect(bucketOf(lo)).toBe(i);
      expect(bucketOf(hi)).toBe(i);
      expect(bucketRange(i + 1)[0]).toBe(hi + 1);
      expect(hi - lo + 1).toBeLessThanOrEqual(Math.max(1, lo / SUB_BUCKETS));
    }
    for (const v of [2 ** 32 - 1, 2 ** 32, 2 ** 33 + 12345, 2 ** 40 - 1]) {
      const [lo, hi] = bucketRange(bucketOf(v));
      expect(lo <= v && v <= hi).toBe(true);
    }
  });

  it('reports each percentile within 1/SUB_BUCKETS above the exact one, over a wide range of values', () => {
    const next = rng(42);
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.round(10 ** (next() * 9)); // 1 us .. 1000 s, log-uniform
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 25, 50, 75, 90, 99, 99.5, 99.9, 99.99]) {
      const want = exact(values, p);
      const got = h.valueAt(p);
      expect(got).toBeGreaterThanOrEqual(want);
      expect(got - want).toBeLessThanOrEqual(want / SUB_BUCKETS);
    }
    expect(h.valueAt(100)).toBe(values.at(-1));
    expect(h.min).toBe(values[0]);
  });

  it('never reports more than the maximum or less than the minimum', () => {
    const h = new Histogram();
    h.record(1000);
    h.record(1001);
    expect(h.valueAt(50)).toBeGreaterThanOrEqual(1000);
    expect(h.valueAt(99.999)).toBe(1001);
    expect(h.valueAt(0.001)).toBeLessThanOrEqual(1001);
  });

  it('rounds, clamps negatives to 0, and answers NaN when empty', () => {
    const h = new Histogram();
    expect(h.valueAt(50)).toBeNaN();
    h.record(-5);
    h.record(2.6);
    expect([h.min, h.max]).toEqual([0, 3]);
  });

  it('merges and survives a JSON round trip', () => {
    const next = rng(7);
    const a = new Histogram();
    const b = new Histogram();
    const both = new Histogram();
    for (let i = 0; i < 5000; i++) {
      const v = Math.round(next() * 1e6);
      (i % 2 ? a : b).record(v);
      both.record(v);
    }
    a.add(b);
    const back = Histogram.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    for (const p of [50, 90, 99, 99.9, 100]) {
      expect(a.valueAt(p)).toBe(both.valueAt(p));
      expect(back.valueAt(p)).toBe(both.valueAt(p));
    }
    expect([back.count, back.min, back.max, back.sum]).toEqual([both.count, both.min, both.max, both.sum]);
  });
});

/** Checks that every tag is closed in order (void <meta>, self-closing SVG tags aside). */
function unbalancedTags(html: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  for (const m of html.replace(/<!DOCTYPE[^>]*>/i, '').matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing || name === 'meta') continue;
    if (!closing) stack.push(name!);
    else if (stack.pop() !== name) problems.push(`</${name}> at ${m.index}`);
  }
  return [...problems, ...stack.map((t) => `<${t}> never closed`)];
}

describe('HTML report', () => {
  it('ticks: round linear steps, powers of ten on log axes', () => {
    expect(linearTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linearTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(logTicks(0.01, 1000)).toEqual([0.01, 0.1, 1, 10, 100, 1000]);
    expect(logTicks(1000, 5000)).toEqual([1000, 2000, 5000]);
  });

  it('writes a self-contained document with its charts and the JSON beside it', () => {
    const fast = new Histogram();
    const slow = new Histogram();
    for (let i = 1; i <= 10_000; i++) {
      fast.record(100 + (i % 50));
      slow.record(i === 10_000 ? 250_000 : 300 + (i % 700));
    }
    const r = new Report('Latency <test> & "friends"');
    r.paragraph('a < b');
    r.code('npm run bench:latency -- --rates 1000');
    r.table(['command', 'p99 (ms)'], [['GET', 1.5], ['SET <x>', 12345.6]]);
    r.chart(percentileChart('GET by percentile', [{ name: 'Cairn', histogram: slow }, { name: 'Redis', histogram: fast }]));
    r.chart(timeChart('RSS', 'MiB', [{ name: 'Cairn', points: [[0, 10], [1, 20], [2, 15]] }], [{ value: 1, label: 'reads' }, { value: 9, label: 'off the axis' }]));
    r.chart(lineChart({ title: 'p99 by rate', xLabel: 'rate', yLabel: 'ms', xLog: true, yLog: true,
      series: [{ name: 'a', points: [[1000, 0.5], [5000, 2], [20000, 40]] }, { name: 'b', points: [[1000, 0], [5000, 1], [20000, 3]] }] }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-report-'));
    try {
      const data = { runs: [{ command: 'get', p99: 1.5 }], histogram: slow.toJSON() };
      const files = r.write('latency', data, dir);
      expect(path.basename(files.html)).toMatch(/^latency-\d{4}-.*\.html$/);
      expect(files.json).toBe(files.html.replace(/\.html$/, '.json'));
      expect(JSON.parse(fs.readFileSync(files.json, 'utf8'))).toEqual(data);

      const html = fs.readFileSync(files.html, 'utf8');
      expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
      expect(html.trimEnd().endsWith('</html>')).toBe(true);
      expect(unbalancedTags(html)).toEqual([]);
      // Offline: nothing loaded from anywhere (the SVG namespace is a name, not a fetch).
      expect(html).not.toMatch(/<script|<link|<img|src=|url\(|@import/i);
      expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:/);
      expect(html).toContain(`href="${encodeURIComponent(path.basename(files.json))}"`);
      // Text is escaped.
      expect(html).toContain('<title>Latency &lt;test&gt; &amp; &quot;friends&quot;</title>');
      expect(html).toContain('<td>SET &lt;x&gt;</td><td class="num">12,346</td>');
      // Three charts: 2 + 1 + 2 series, the percentile axis labelled, the log axis skipping the 0 point.
      expect(html.match(/<svg /g)).toHaveLength(3);
      expect(html.match(/<polyline /g)).toHaveLength(5);
      for (const label of ['>50%<', '>99%<', '>99.9%<', '>99.99%<', '>max<']) expect(html).toContain(label);
      const rateChart = html.slice(html.lastIndexOf('<svg '));
      expect(rateChart.match(/<circle /g)).toHaveLength(5);
      expect(html.match(/stroke-dasharray/g)).toHaveLength(1);
      expect(html).toContain('>reads</text>');
      expect(html).not.toMatch(/NaN|Infinity|undefined/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escapes every markup character', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

/** A line server answering +PONG to each line, except that it holds every reply for `stallMs` after the first line arrives. */
async function stallingServer(stallMs: number): Promise<{ port: number; close(): void }> {
  let started = Infinity;
  const server = net.createServer((sock) => {
    let owed = 0;
    const flush = (): void => {
      sock.write('+PONG\r\n'.repeat(owed));
      owed = 0;
    };
    sock.on('data', (d) => {
      started = Math.min(started, Date.now());
      for (const b of d) if (b === 10) owed++;
      const wait = started + stallMs - Date.now();
      if (wait <= 0) flush();
      else setTimeout(flush, wait);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe('open loop', () => {
  it('keeps sending through a stall and counts it in the latency of every request scheduled meanwhile', async () => {
    const server = await stallingServer(300);
    const conns = [await Conn.open(server.port), await Conn.open(server.port)];
    try {
      const r = await openLoop(conns, { rate: 1000, seconds: 1, make: () => ({ label: 'PING', payload: 'PING\r\n' }) });
      expect([r.sent, r.completed, r.errors, r.unanswered, r.saturated]).toEqual([1000, 1000, 0, 0, false]);
      // About 300 requests were due during the stall, their latencies spread over 0..300 ms. A closed
      // loop would have sent 2 (one per connection) and waited: 998 fast requests, 2 slow ones.
      expect(r.all.valueAt(95)).toBeGreaterThan(150_000);
      expect(r.all.valueAt(80)).toBeGreaterThan(30_000);
      expect(r.all.max).toBeGreaterThan(290_000);
      expect(r.latency.PING!.count).toBe(1000);
    } finally {
      for (const c of conns) c.close();
      server.close();
    }
  });

  it('times a request that batch pacing sent early from when it left (never less than the server took)', async () => {
    // Every reply comes 3 ms after its request arrives; batch pacing sends up to ~1 ms early.
    const server = net.createServer((sock) => {
      sock.on('data', (d) => {
        let n = 0;
        for (const b of d) if (b === 10) n++;
        // Timers may fire early by up to the event loop's cached clock: re-arm until 3 ms have passed.
        const due = performance.now() + 3;
        const reply = (): void => {
          const left = due - performance.now();
          if (left > 0) setTimeout(reply, Math.ceil(left));
          else sock.write('+PONG\r\n'.repeat(n));
        };
        setTimeout(reply, 3);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const conns = [await Conn.open((server.address() as net.AddressInfo).port)];
    try {
      const r = await openLoop(conns, { rate: 2000, seconds: 0.5, pacing: 'batch', make: () => ({ label: 'PING', payload: 'PING\r\n' }) });
      expect(r.completed).toBe(1000);
      expect(r.all.min).toBeGreaterThanOrEqual(2950);
    } finally {
      for (const c of conns) c.close();
      server.close();
    }
  });

  it('stops sending once the replies fall too far behind, and says so', async () => {
    const server = await stallingServer(1000);
    const conns = [await Conn.open(server.port)];
    try {
      const r = await openLoop(conns, { rate: 1000, seconds: 3, giveUpBehindMs: 300, make: () => ({ label: 'PING', payload: 'PING\r\n' }) });
      expect(r.saturated).toBe(true);
      expect(r.sent).toBeLessThan(1500);
      expect(r.completed).toBe(r.sent);
    } finally {
      for (const c of conns) c.close();
      server.close();
    }
  });
});
