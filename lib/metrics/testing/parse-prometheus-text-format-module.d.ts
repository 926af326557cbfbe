// parse-prometheus-text-format ships no type declarations; this covers its one function, as its README describes the result
// (prom2json's shape: families with their samples; histograms and summaries carry buckets or quantiles instead of a value).
declare module "parse-prometheus-text-format" {
  export interface Sample {
    value: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
  }
  export interface Distribution {
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count: string;
    sum: string;
  }
  export interface MetricFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: (Sample | Distribution)[];
  }
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
