export interface DemoUser {
  /** Stable subject identifier; also the `sub` claim. */
  sub: string;
  email: string;
  name: string;
  /** Emitted as the `groups` claim; role bindings are seeded from these names. */
  groups: string[];
  /** Shown on the sign-in page so people know which persona to pick. */
  description: string;
}

function demoUser(user: DemoUser): DemoUser {
  // Frozen because the list is shared module state: a test or caller that
  // mutates a user would otherwise change every later sign-in in the process.
  return Object.freeze({ ...user, groups: Object.freeze([...user.groups]) as string[] });
}

// Other code seeds role bindings from these group names, so the subs, emails
// and groups are a contract, not sample data.
export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  demoUser({
    sub: "ada",
    email: "admin@acme.test",
    name: "Ada Admin",
    groups: ["acme-admins"],
    description: "Administrator of every acme environment, including production.",
  }),
  demoUser({
    sub: "max",
    email: "member@acme.test",
    name: "Max Member",
    groups: ["acme-members"],
    description: "Team member with read access.",
  }),
  demoUser({
    sub: "uma",
    email: "nonprod-admin@acme.test",
    name: "Uma Nonprod",
    groups: ["acme-nonprod-admins"],
    description: "Administrator of the uat and dev environments; member of prd.",
  }),
  demoUser({
    sub: "olga",
    email: "operator@acme.test",
    name: "Olga Operator",
    // The embedded default's operator group (DEMO_OPERATOR_GROUP in lib/config.ts).
    groups: ["lifeboat-operators"],
    description: "Installation operator: sets the database connection and volume folder of every environment; no role in the acme backups.",
  }),
]);
