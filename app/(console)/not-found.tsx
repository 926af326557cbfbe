import Link from "next/link";

export default function NotFound() {
  return (
    <div>
      <h1 className="text-2xl font-semibold">Not found</h1>
      <p className="mt-2 text-slate-600">
        This environment does not exist, or you have no role in it.{" "}
        <Link href="/" className="text-blue-700 underline">
          Back to your environments
        </Link>
      </p>
    </div>
  );
}
