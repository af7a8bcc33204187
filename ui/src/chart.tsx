// A uPlot time-series chart of one seller's TTFT (left axis) and tokens/s
// (right axis). The plot is created once and fed with setData, so a live
// update redraws a canvas, never the DOM around it.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** Columns: seconds since the epoch, TTFT ms, tokens/s. */
export type Columns = [number[], (number | null)[], (number | null)[]];

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function options(width: number, title: string, windowSec: number | null): uPlot.Options {
  const fg = cssVar("--muted", "#6b7385");
  const grid = cssVar("--line", "#e3e6ee");
  const axis = (scale: string, side: 1 | 3, label: string): uPlot.Axis => ({
    scale, side, label, stroke: fg, grid: { stroke: grid, width: 1, show: side === 3 }, ticks: { stroke: grid, width: 1 },
    labelSize: 18, size: 56,
  });
  return {
    title, width, height: 200,
    scales: {
      x: windowSec ? { time: true, range: () => { const now = Date.now() / 1000; return [now - windowSec, now]; } } : { time: true },
      ms: { auto: true, range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
      tps: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
    },
    axes: [
      { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
      axis("ms", 3, "TTFT (ms)"),
      axis("tps", 1, "tokens/s"),
    ],
    series: [
      {},
      { label: "TTFT ms", scale: "ms", stroke: cssVar("--chart-a", "#3b6fd8"), width: 1.5, points: { show: true, size: 4 }, spanGaps: true },
      { label: "tokens/s", scale: "tps", stroke: cssVar("--chart-b", "#d8843b"), width: 1.5, points: { show: true, size: 4 }, spanGaps: true },
    ],
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
  };
}

/** The chart; `windowSec` pins the x axis to the last that many seconds (live), else it fits the data. */
export function SellerChart({ data, title, windowSec }: { data: Columns; title: string; windowSec: number | null }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const u = new uPlot(options(Math.max(280, el.clientWidth), title, windowSec), data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height: 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Recreated only when what the axes mean changes; data flows through setData.
  }, [title, windowSec]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div class="chart" ref={box} data-points={data[0].length} />;
}
