/**
 * What `check` and a start both do before binding: the admin token setup,
 * and warnings printed one a line.
 *
 * @module
 */
import { adminAccess } from "../admin/auth.ts";
import type { ConfigIssue } from "../errors.ts";
import type { CommandConfig } from "./source.ts";
import { asFlags, asIs, inTerms } from "./terms.ts";

/** Refuses a bad admin token setup, and a non-loopback admin without a token, before binding anything. */
export async function checkAdmin(cc: CommandConfig): Promise<void> {
  const admin = cc.config.admin;
  if (!admin) return;
  const tokenFileField = cc.tokenFile === undefined ? undefined : "--admin-token-file";
  await inTerms(cc.fromFlags ? asFlags : asIs, () => adminAccess(admin, { source: cc.source, tokenFileField }));
}

/** Prints each issue as `WARNING: SOURCE: PATH: MESSAGE[SUFFIX]` on stderr. */
export function warn(source: string, issues: readonly ConfigIssue[], suffix = ""): void {
  for (const i of issues) console.error(`WARNING: ${source}: ${i.path || "(root)"}: ${i.message}${suffix}`);
}
