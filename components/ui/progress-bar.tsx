/** A determinate bar (or, without `percent`, a sliver saying "started"), announced with its own words. */
export function ProgressBar({
  label,
  percent,
  valueText,
  className = "h-2",
}: {
  label: string;
  percent: number | undefined;
  valueText: string;
  className?: string;
}) {
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={percent}
      aria-valuetext={valueText}
      className={`mt-1 w-full overflow-hidden rounded bg-slate-200 ${className}`}
    >
      <div className="h-full bg-blue-600 transition-all" style={{ width: `${percent ?? 5}%` }} />
    </div>
  );
}
