import type { DemoUser } from "./demo-users";

export const PROVIDER_TITLE = "Lifeboat development sign-in";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for both element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

// Self-contained on purpose: the page must render offline and must not leak
// the interaction URL to third parties through asset requests.
const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--border:#d0d7de;--accent:#0b5cad;--warn-bg:#fff8c5;--warn-border:#d4a72c}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--card:#161b22;--border:#30363d;--accent:#4493f8;--warn-bg:#2e2a12;--warn-border:#9e7c1c}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:40rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .5rem}
.notice{background:var(--warn-bg);border:1px solid var(--warn-border);border-radius:6px;padding:.75rem 1rem}
ul{list-style:none;margin:1rem 0;padding:0;display:grid;gap:.75rem}
li{background:var(--card);border:1px solid var(--border);border-radius:6px;padding:1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-start}
li>div{flex:1 1 16rem}
.user-details p{margin:0}
.muted{color:var(--muted)}
button{font:inherit;font-weight:600;padding:.5rem 1rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;flex:0 0 auto}
button.secondary{background:transparent;color:var(--accent)}
button:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
code{font-size:.9em}
`;

function htmlDocument(title: string, body: string, extraHead = ""): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
${extraHead}
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

const DEV_ONLY_NOTICE = `<p class="notice" role="note"><strong>For local development only.</strong> This built-in provider signs you in as a demo user without a password. Never expose it to a network; configure a real identity provider for shared or production use.</p>`;

export interface SignInPageInput {
  users: readonly DemoUser[];
  loginAction: string;
  abortAction: string;
  clientName: string;
}

export function renderSignInPage({ users, loginAction, abortAction, clientName }: SignInPageInput): string {
  const items = users
    .map((user, index) => {
      // Index-based ids keep the markup valid whatever characters a sub holds.
      const detailsId = `user-${index}-details`;
      return `<li>
<button type="submit" name="sub" value="${escapeHtml(user.sub)}" aria-describedby="${detailsId}">Sign in as ${escapeHtml(user.name)}</button>
<div class="user-details" id="${detailsId}">
<p>${escapeHtml(user.email)}</p>
<p class="muted">Groups: ${user.groups.map((group) => `<code>${escapeHtml(group)}</code>`).join(", ") || "none"}</p>
<p>${escapeHtml(user.description)}</p>
</div>
</li>`;
    })
    .join("\n");

  return htmlDocument(
    PROVIDER_TITLE,
    `<h1>${escapeHtml(PROVIDER_TITLE)}</h1>
${DEV_ONLY_NOTICE}
<p>Choose a demo user to continue to ${escapeHtml(clientName)}.</p>
<form method="post" action="${escapeHtml(loginAction)}" aria-label="Demo users">
<ul>
${items}
</ul>
</form>
<form method="post" action="${escapeHtml(abortAction)}">
<button type="submit" class="secondary">Cancel</button>
</form>`,
  );
}

export function renderMessagePage(heading: string, paragraphs: readonly string[]): string {
  return htmlDocument(
    `${heading} - ${PROVIDER_TITLE}`,
    `<h1>${escapeHtml(heading)}</h1>
${paragraphs.map((text) => `<p>${escapeHtml(text)}</p>`).join("\n")}`,
  );
}

/**
 * oidc-provider supplies the confirm form (with its CSRF token); the page adds
 * the "really log out" field and submits itself, so signing out of Lifeboat is
 * a single step. The button is the fallback when scripts are disabled.
 */
export function logoutScript(formId: string): string {
  return `document.addEventListener("DOMContentLoaded",function(){document.getElementById(${JSON.stringify(formId).replace(/</g, "\\u003c")}).submit()})`;
}

export function renderLogoutPage(form: string, formId: string): string {
  return htmlDocument(
    `Signing out - ${PROVIDER_TITLE}`,
    `<h1>Signing out</h1>
<p>Ending your ${escapeHtml(PROVIDER_TITLE)} session…</p>
${form}
<input type="hidden" name="logout" value="yes" form="${escapeHtml(formId)}">
<button type="submit" form="${escapeHtml(formId)}">Sign out</button>`,
    `<script>${logoutScript(formId)}</script>`,
  );
}
