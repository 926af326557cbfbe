/*
 * The URLs an import reads from are often pre-signed (S3's
 * `?X-Amz-Signature=…`, the Cloud 66 seed's `?AWSAccessKeyId=…&Signature=…`)
 * or carry a password (`https://user:secret@host/…`). Whatever is shown,
 * logged or audited uses the redacted form; the full one lives only in the
 * job's payload, encrypted.
 */

/** http and https only: anything else (file:, ftp:, data:) is refused before it is fetched. */
export function isFetchableUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/** `https://user:pw@host/path/db.gz?sig=…#x` → `https://host/path/db.gz?…`: no userinfo, no query values, no fragment. */
export function redactUrl(value: string | URL): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "(an invalid URL)";
  }
  const query = url.search ? "?…" : "";
  return `${url.protocol}//${url.host}${url.pathname}${query}`;
}

/** The last path segment, decoded, for messages about the file ("database.gz"); null when the path names none. */
export function urlFileName(value: string | URL): string | null {
  try {
    const segment = new URL(value).pathname.split("/").pop() ?? "";
    const name = decodeURIComponent(segment).trim();
    return name && name.length <= 200 ? name : null;
  } catch {
    return null;
  }
}
