import { describe, expect, it } from "vitest";

import type { Actor } from "./permissions";
import {
  canAdministerEnvironment,
  canCreateBackup,
  canDownloadBackup,
  canRestoreBackup,
  canUploadBackup,
  canViewEnvironment,
  canViewEnvironmentSettings,
  isEnvironmentVisible,
} from "./permissions";

const prd = { id: "prd", isProduction: true };
const uat = { id: "uat", isProduction: false };
const dev = { id: "dev", isProduction: false };

function actor(roles: Record<string, "admin" | "member">): Actor {
  return { kind: "user", id: "u", email: "u@acme.test", name: null, groups: [], roles: new Map(Object.entries(roles)), operator: false };
}

describe("permissions", () => {
  const admin = actor({ prd: "admin", uat: "admin" });
  const member = actor({ prd: "member", uat: "member" });
  const nonprodAdmin = actor({ prd: "member", uat: "admin" });

  it("only production administrators download or restore production backups", () => {
    expect(canDownloadBackup(admin, prd)).toBe(true);
    expect(canDownloadBackup(member, prd)).toBe(false);
    expect(canDownloadBackup(nonprodAdmin, prd)).toBe(false);
    expect(canRestoreBackup(nonprodAdmin, prd)).toBe(false);
    expect(canRestoreBackup(admin, prd)).toBe(true);
  });

  it("members download outside production but change nothing", () => {
    expect(canDownloadBackup(member, uat)).toBe(true);
    for (const can of [canAdministerEnvironment, canCreateBackup, canUploadBackup, canRestoreBackup, canViewEnvironmentSettings]) {
      expect(can(member, uat)).toBe(false);
      expect(can(nonprodAdmin, uat)).toBe(true);
    }
  });

  it("an environment without a role does not exist for the actor", () => {
    expect(canViewEnvironment(admin, dev)).toBe(false);
    expect(canDownloadBackup(admin, dev)).toBe(false);
    expect(isEnvironmentVisible(admin, dev, { productionOnly: false })).toBe(false);
  });

  it("a production-only deployment shows nothing but production", () => {
    expect(isEnvironmentVisible(admin, uat, { productionOnly: false })).toBe(true);
    expect(isEnvironmentVisible(admin, uat, { productionOnly: true })).toBe(false);
    expect(isEnvironmentVisible(admin, prd, { productionOnly: true })).toBe(true);
  });
});
