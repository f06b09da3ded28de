import { Histogram, Registry } from 'prom-client';

import { BucketCountingHistogram } from '../../src/http/bucket-counting-histogram.js';

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const labelNames = ['route', 'method', 'status'] as const;
// Values on both sides of bucket bounds, on bounds exactly (le is inclusive), and past the last bound.
const observations: [string, string, string, number][] = [
  ['/token', 'POST', '2xx', 0.001],
  ['/token', 'POST', '2xx', 0.005],
  ['/token', 'POST', '2xx', 0.0050001],
  ['/token', 'POST', '4xx', 0.3],
  ['/token', 'POST', '2xx', 7.5],
  ['/healthz', 'GET', '2xx', 0.02],
  ['/token', 'POST', '2xx', 1],
  ['unmatched', 'GET', '4xx', 0],
];

function both() {
  const ours = new Registry();
  const reference = new Registry();
  const counting = new BucketCountingHistogram({ name: 'h_seconds', help: 'help text', labelNames, buckets, registers: [ours] });
  const histogram = new Histogram({ name: 'h_seconds', help: 'help text', labelNames, buckets, registers: [reference] });
  return { ours, reference, counting, histogram };
}

describe('BucketCountingHistogram', () => {
  test("its exposition is prom-client's Histogram's, text and JSON, for the same observations", async () => {
    const { ours, reference, counting, histogram } = both();
    for (const [route, method, status, value] of observations) {
      counting.series(route, method, status).observe(value);
      histogram.observe({ route, method, status }, value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain('h_seconds_bucket{le="0.005",route="/token",method="POST",status="2xx"} 2');
    expect(text).toContain('h_seconds_bucket{le="+Inf",route="/token",method="POST",status="2xx"} 5');
    expect(text).toContain('h_seconds_count{route="/token",method="POST",status="2xx"} 5');
    // Without exemplars, which this histogram does not keep (prom-client lists them as null).
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map((metric) => ({ ...metric, values: metric.values.map(({ labels, value, metricName }: { labels: object; value: number; metricName?: string }) => ({ labels, value, metricName })) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await reference.getMetricsAsJSON()));
  });

  test('a series handle keeps counting after a registry reset, from zero', async () => {
    const { ours, reference, counting, histogram } = both();
    const series = counting.series('/token', 'POST', '2xx');
    series.observe(0.2);
    ours.resetMetrics();
    reference.resetMetrics();
    series.observe(0.03);
    histogram.observe({ route: '/token', method: 'POST', status: '2xx' }, 0.03);
    expect(await ours.metrics()).toBe(await reference.metrics());
    expect(await ours.metrics()).toContain('h_seconds_count{route="/token",method="POST",status="2xx"} 1');
  });

  test('a value that is not a finite number is dropped, not counted and not thrown', async () => {
    const { ours, counting } = both();
    const series = counting.series('/token', 'POST', '2xx');
    expect(() => series.observe(Number.NaN)).not.toThrow();
    series.observe(Number.POSITIVE_INFINITY);
    series.observe(0.2);
    expect(await ours.metrics()).toContain('h_seconds_count{route="/token",method="POST",status="2xx"} 1');
    expect(await ours.metrics()).toContain('h_seconds_sum{route="/token",method="POST",status="2xx"} 0.2');
  });

  test('the same label values give the same series', () => {
    const { counting } = both();
    expect(counting.series('/a', 'GET', '2xx')).toBe(counting.series('/a', 'GET', '2xx'));
    expect(counting.series('/a', 'GET', '2xx')).not.toBe(counting.series('/a', 'GET', '4xx'));
  });

  test('refuses the reserved le label and unordered buckets, as prom-client does', () => {
    expect(() => new BucketCountingHistogram({ name: 'x', help: 'x', labelNames: ['le'], buckets, registers: [] })).toThrow(/reserved/);
    expect(() => new BucketCountingHistogram({ name: 'x', help: 'x', labelNames: ['a'], buckets: [1, 0.5], registers: [] })).toThrow(/increase/);
  });
});
