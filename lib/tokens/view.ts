/** A token as its owner sees it in the list: never the token itself. */
export interface TokenView {
  id: string;
  name: string;
  prefix: string;
  /** The one environment the token is limited to, or null for every environment its owner can see. */
  scope: { projectId: string; environment: string } | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  status: "active" | "expired" | "revoked";
}
