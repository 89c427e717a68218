/**
 * Self-contained HTML reports for the benches: one file a person opens in a browser, offline.
 * Charts are inline SVG drawn here (no script, no CDN, no dependency); the raw figures go beside
 * it as JSON. `new Report(title)` collects blocks (headings, text, tables, charts) in order;
 * `write(name, data)` writes bench/results/<name>-<timestamp>.html and .json.
 *
 * Charts: `lineChart` (several series, linear or log axes, custom ticks), `percentileChart`
 * (latency percentile curves on HdrHistogram's axis: 50%, 90%, 99%, 99.9%, ... evenly spaced, then
 * max) and `timeChart` (a quantity over seconds: throughput, RSS).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Histogram } from './histogram.js';
import { resultsStem } from './common.js';

// ---------------------------------------------------------------- text

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number for an axis or a tooltip: 3 significant digits, no exponent for everyday sizes. */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1e4) return Math.round(v).toLocaleString('en-US');
  if (a >= 100 || v === 0 || Number.isInteger(v)) return String(Math.round(v * 10) / 10);
  return String(Number(v.toPrecision(3)));
}

// ---------------------------------------------------------------- charts

export type Point = [number, number];

export interface Series {
  name: string;
  points: Point[];
}

export interface Tick {
  value: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Ticks to draw instead of the computed ones (in data units). */
  xTicks?: Tick[];
  /** Vertical lines at these x values, labelled at the top (phases of a run). */
  markers?: Tick[];
  /** Axis ranges (data units); default: the data's, the y axis from 0 on a linear scale. */
  xRange?: [number, number];
  yRange?: [number, number];
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const MARGIN = { left: 72, right: 24, top: 34, bottom: 48 };

/** Round ticks (1, 2, 5 times a power of ten) covering [lo, hi]. */
export function linearTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** `hi` raised to the first round tick at or above it, so the top gridline closes the plot. */
function niceMax(lo: number, hi: number): number {
  const t = linearTicks(lo, hi);
  if (t.length < 2 || t.at(-1)! >= hi) return hi;
  return Number((t.at(-1)! + (t[1]! - t[0]!)).toPrecision(12));
}

/** Powers of ten in [lo, hi] (lo > 0), with 2 and 5 times them when the range spans few decades. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const decades = Math.log10(hi / lo);
  const mults = decades <= 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** An inline <svg> line chart: one polyline (and its points) per series, axes, ticks, legend. */
export function lineChart(o: ChartOptions): string {
  const width = o.width ?? 760;
  const rows = Math.ceil(o.series.length / 3);
  const plotH = (o.height ?? 340) - MARGIN.top - MARGIN.bottom;
  const height = MARGIN.top + plotH + MARGIN.bottom + rows * 18;
  const plotW = width - MARGIN.left - MARGIN.right;
  const usable = (p: Point, logX: boolean, logY: boolean): boolean =>
    Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logX || p[0] > 0) && (!logY || p[1] > 0);
  const series = o.series.map((s) => ({ ...s, points: s.points.filter((p) => usable(p, !!o.xLog, !!o.yLog)) }));
  const all = series.flatMap((s) => s.points);
  const extent = (vals: number[], log: boolean, given?: [number, number]): [number, number] => {
    if (given) return given;
    if (vals.length === 0) return log ? [1, 10] : [0, 1];
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (!log) lo = Math.min(0, lo);
    if (hi === lo) hi = log ? lo * 10 : lo + 1;
    return [lo, hi];
  };
  const [x0, x1] = extent(all.map((p) => p[0]), !!o.xLog, o.xRange ?? (o.xTicks ? tickRange(o.xTicks) : undefined));
  let [y0, y1] = extent(all.map((p) => p[1]), !!o.yLog, o.yRange);
  if (o.yLog) [y0, y1] = [10 ** Math.floor(Math.log10(y0)), 10 ** Math.ceil(Math.log10(y1))];
  else if (!o.yRange) y1 = niceMax(y0, y1);
  const scale = (v: number, lo: number, hi: number, log: boolean): number =>
    log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
  const X = (v: number): number => MARGIN.left + scale(v, x0, x1, !!o.xLog) * plotW;
  const Y = (v: number): number => MARGIN.top + plotH - scale(v, y0, y1, !!o.yLog) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(o.title)}" font-family="system-ui, sans-serif" font-size="11" fill="#222">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${escapeHtml(o.title)}</text>`);
  // Grid and ticks.
  const xTicks = o.xTicks ?? (o.xLog ? logTicks(x0, x1) : linearTicks(x0, x1)).map((v) => ({ value: v, label: fmtNum(v) }));
  const yTicks = (o.yLog ? logTicks(y0, y1) : linearTicks(y0, y1)).map((v) => ({ value: v, label: fmtNum(v) }));
  for (const t of xTicks) {
    const x = f(X(t.value));
    parts.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  for (const t of yTicks) {
    const y = f(Y(t.value));
    parts.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle" font-size="12">${escapeHtml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(o.yLabel)}</text>`);
  (o.markers ?? []).filter((mk) => mk.value >= x0 && mk.value <= x1).forEach((mk, i) => {
    const x = f(X(mk.value));
    parts.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#888" stroke-dasharray="4 3"/>`);
    // Labels alternate between two lines, so close markers do not write over each other.
    const nearRight = X(mk.value) > MARGIN.left + plotW - 80; // write the label left of the line there
    parts.push(`<text x="${f(X(mk.value) + (nearRight ? -3 : 3))}" y="${MARGIN.top + 10 + (i % 2) * 12}"${nearRight ? ' text-anchor="end"' : ''} fill="#555">${escapeHtml(mk.label)}</text>`);
  });
  // Series.
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.points.map((p) => `${f(X(p[0]))},${f(Y(p[1]))}`).join(' ');
    parts.push(`<g class="series"><title>${escapeHtml(s.name)}</title>`);
    if (s.points.length > 1) parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    if (s.points.length <= 60) {
      for (const p of s.points) {
        parts.push(`<circle cx="${f(X(p[0]))}" cy="${f(Y(p[1]))}" r="2.5" fill="${color}"><title>${escapeHtml(`${s.name}: ${fmtNum(p[0])}, ${fmtNum(p[1])}`)}</title></circle>`);
      }
    }
    parts.push('</g>');
    // Legend, three entries a row, under the axis label.
    const lx = MARGIN.left + (i % 3) * (plotW / 3);
    const ly = MARGIN.top + plotH + MARGIN.bottom + Math.floor(i / 3) * 18 + 4;
    parts.push(`<line x1="${f(lx)}" y1="${ly}" x2="${f(lx + 18)}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${f(lx + 24)}" y="${ly}" dominant-baseline="middle">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function tickRange(ticks: Tick[]): [number, number] {
  const v = ticks.map((t) => t.value);
  return [Math.min(...v), Math.max(...v)];
}

/** The percentiles a percentile curve is drawn through (besides the maximum). */
const CURVE_PERCENTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999];
const CURVE_TICKS: [number, string][] = [[50, '50%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%'], [99.999, '99.999%']];
/** The x position of the maximum: one step right of 99.999%. */
const MAX_X = 6;
const curveX = (p: number): number => -Math.log10(1 - p / 100);

/**
 * Latency percentile curves, one per histogram (values in microseconds, drawn in ms), on
 * HdrHistogram's axis: each step right is ten times rarer (50%, 90%, 99%, 99.9%, ...), then "max".
 * Points past what a histogram's count can resolve (99.99% of 1,000 values) are left out.
 */
export function percentileChart(title: string, curves: { name: string; histogram: Histogram }[]): string {
  const series: Series[] = curves.filter((c) => c.histogram.count > 0).map(({ name, histogram: h }) => ({
    name,
    points: [
      ...CURVE_PERCENTILES.filter((p) => p === 0 || 1 - p / 100 >= 1 / h.count).map((p): Point => [curveX(p), h.valueAt(p) / 1000]),
      [MAX_X, h.max / 1000] as Point,
    ],
  }));
  const values = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const yLog = values.length > 0 && Math.max(...values) / Math.min(...values) > 30;
  return lineChart({
    title, xLabel: 'percentile', yLabel: 'latency (ms)', series: yLog ? series.map((s) => ({ ...s, points: s.points.map(([x, y]): Point => [x, Math.max(y, 0.001)]) })) : series,
    yLog, xRange: [0, MAX_X], xTicks: [...CURVE_TICKS.map(([p, label]) => ({ value: curveX(p), label })), { value: MAX_X, label: 'max' }],
  });
}

/** A quantity over time: each series is [seconds, value] points; markers name phases. */
export function timeChart(title: string, yLabel: string, series: Series[], markers?: Tick[]): string {
  return lineChart({ title, xLabel: 'seconds', yLabel, series, markers });
}

// ---------------------------------------------------------------- the document

export type Cell = string | number;

/** An HTML table; numbers are right-aligned and formatted with fmtNum. */
export function htmlTable(header: string[], rows: Cell[][]): string {
  const cell = (c: Cell, tag: string): string =>
    typeof c === 'number' ? `<${tag} class="num">${escapeHtml(fmtNum(c))}</${tag}>` : `<${tag}>${escapeHtml(c)}</${tag}>`;
  return `<table>\n<thead><tr>${header.map((h) => cell(h, 'th')).join('')}</tr></thead>\n<tbody>\n` +
    rows.map((r) => `<tr>${r.map((c) => cell(c, 'td')).join('')}</tr>`).join('\n') + '\n</tbody>\n</table>';
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; } th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f3f3f3; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
svg.chart { display: block; margin: 1em 0; max-width: 100%; height: auto; }
`;

export class Report {
  private readonly blocks: string[] = [];

  constructor(readonly title: string) {}

  heading(text: string): this {
    this.blocks.push(`<h2>${escapeHtml(text)}</h2>`);
    return this;
  }

  paragraph(text: string): this {
    this.blocks.push(`<p>${escapeHtml(text)}</p>`);
    return this;
  }

  /** Preformatted text: command lines, printed tables. */
  code(text: string): this {
    this.blocks.push(`<pre>${escapeHtml(text)}</pre>`);
    return this;
  }

  table(header: string[], rows: Cell[][]): this {
    this.blocks.push(htmlTable(header, rows));
    return this;
  }

  /** Markup made by lineChart/percentileChart/timeChart. */
  chart(svg: string): this {
    this.blocks.push(svg);
    return this;
  }

  /** The whole document; `jsonFile` (a name next to it) is linked when given. */
  html(jsonFile?: string): string {
    return [
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${escapeHtml(this.title)}</title>`,
      `<style>${STYLE}</style>`,
      '</head>',
      '<body>',
      `<h1>${escapeHtml(this.title)}</h1>`,
      ...this.blocks,
      jsonFile ? `<p>Raw figures: <a href="${escapeHtml(encodeURIComponent(jsonFile))}">${escapeHtml(jsonFile)}</a></p>` : '',
      '</body>',
      '</html>',
      '',
    ].join('\n');
  }

  /** Writes <dir>/<name>-<timestamp>.html and .json (dir: bench/results); returns both paths. */
  write(name: string, data: unknown, dir?: string): { html: string; json: string } {
    const stem = resultsStem(name, dir);
    const json = `${stem}.json`;
    const html = `${stem}.html`;
    fs.writeFileSync(json, JSON.stringify(data, null, 2) + '\n');
    fs.writeFileSync(html, this.html(path.basename(json)));
    return { html, json };
  }
}
