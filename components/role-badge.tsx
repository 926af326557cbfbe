import { Badge } from "@/components/ui/badge";
import type { Actor } from "@/lib/auth/permissions";
import { standingIn } from "@/lib/auth/permissions";
import type { Environment } from "@/lib/db/schema";

const LABEL = { admin: "Administrator", member: "Member", operator: "Operator" } as const;

/** The signed-in person's role in an environment, as a badge. */
export function RoleBadge({ actor, environment }: { actor: Actor; environment: Pick<Environment, "id"> }) {
  const standing = standingIn(actor, environment);
  if (!standing) return null;
  return <Badge tone={standing === "member" ? "neutral" : "admin"}>{LABEL[standing]}</Badge>;
}
