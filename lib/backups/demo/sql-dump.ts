import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import type postgres from "postgres";

import { COMPANY_ID, between, liferayUuid } from "./portal-data";
import type { PortalData, PortalDocument } from "./portal-data";
import { createRandom } from "./random";
import type { Random } from "./random";

/*
 * A plain-format dump, as `pg_dump --no-owner --no-privileges` writes it, of a
 * few Liferay tables. Rows are generated while the dump is read, so memory use
 * does not grow with the dump; psql restores it into an empty database.
 */

export const DEMO_POSTGRES_VERSION = "15.8";

type CopyValue = string | number | boolean | Date | null;

interface TableDump {
  name: string;
  /** As pg_dump prints them: `<name> <type> [DEFAULT …] [NOT NULL]`. */
  columns: string[];
  primaryKey: string[];
  indexes: { name: string; unique: boolean; columns: string[] }[];
  rows: () => Iterable<CopyValue[]>;
}

function timestamp(date: Date): string {
  // `timestamp without time zone` holding UTC, to the millisecond, as pg_dump prints it.
  return date.toISOString().replace("T", " ").replace("Z", "");
}

/** COPY's text format: `\N` for null, backslash escapes for the separators. */
function copyValue(value: CopyValue): string {
  if (value === null) return "\\N";
  if (typeof value === "boolean") return value ? "t" : "f";
  if (typeof value === "number") return String(value);
  if (value instanceof Date) return timestamp(value);
  return value.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

function columnName(column: string): string {
  return column.slice(0, column.indexOf(" "));
}

const WORDS = (
  "acme anvil rocket skates canyon desert coyote runner magnet catalogue delivery parcel warranty field test range " +
  "safety product launch customer order return policy update release spring portable hole paint giant steel cliff " +
  "road sign dynamite fuse blueprint prototype schedule invoice shipping express"
).split(" ");

function sentence(random: Random): string {
  const text = Array.from({ length: random.int(6, 14) }, () => random.pick(WORDS)).join(" ");
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

function articleContent(random: Random, title: string): string {
  const paragraphs = Array.from({ length: random.int(2, 5) }, () => `<p>${Array.from({ length: random.int(2, 5) }, () => sentence(random)).join(" ")}</p>`);
  // Liferay 7.x web content is XML with tabs and newlines, which COPY has to escape.
  return [
    '<?xml version="1.0"?>',
    "",
    '<root available-locales="en_US" default-locale="en_US">',
    `\t<dynamic-element name="title" type="text" index-type="keyword" instance-id="${random.hex(8)}">`,
    `\t\t<dynamic-content language-id="en_US"><![CDATA[${title}]]></dynamic-content>`,
    "\t</dynamic-element>",
    `\t<dynamic-element name="content" type="rich_text" index-type="text" instance-id="${random.hex(8)}">`,
    `\t\t<dynamic-content language-id="en_US"><![CDATA[${paragraphs.join("\n")}]]></dynamic-content>`,
    "\t</dynamic-element>",
    "</root>",
  ].join("\n");
}

const fullName = (u: { firstName: string; lastName: string }) => `${u.firstName} ${u.lastName}`.trim();
const treePath = (d: PortalDocument) => (d.folderId === 0 ? "/" : `/${d.folderId}/`);

function liferayTables(data: PortalData): TableDump[] {
  const { users, groups, folders, documents, takenAt } = data;
  const people = users.filter((u) => !u.defaultUser);
  const sites = groups.filter((g) => g.site && g.friendlyUrl !== "/global");
  const lastFileEntryId = Math.max(...documents.map((d) => d.fileEntryId));

  return [
    {
      name: "company",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "companyid bigint NOT NULL",
        "webid character varying(75)",
        "mx character varying(200)",
        "homeurl text",
        "logoid bigint",
        "maxusers integer",
        "active_ boolean",
        "name character varying(75)",
      ],
      primaryKey: ["companyid"],
      indexes: [{ name: "ix_ec00543c", unique: true, columns: ["webid"] }],
      rows: () => [[0, COMPANY_ID, data.webId, data.webId, data.homeUrl, 0, 0, true, data.companyName]],
    },
    {
      name: "counter",
      columns: ["name character varying(150) NOT NULL", "currentid bigint"],
      primaryKey: ["name"],
      indexes: [],
      rows: () => [
        ["com.liferay.counter.kernel.model.Counter", lastFileEntryId + 1000],
        ["com.liferay.journal.model.JournalArticle", 50_000 + data.articleCount * 10],
      ],
    },
    {
      name: "dlfileentry",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "uuid_ character varying(75)",
        "fileentryid bigint NOT NULL",
        "groupid bigint",
        "companyid bigint",
        "userid bigint",
        "username character varying(75)",
        "createdate timestamp without time zone",
        "modifieddate timestamp without time zone",
        "repositoryid bigint",
        "folderid bigint",
        "treepath text",
        "name character varying(255)",
        "filename character varying(255)",
        "extension character varying(75)",
        "mimetype character varying(75)",
        "title character varying(255)",
        "description text",
        "version character varying(75)",
        "size_ bigint",
      ],
      primaryKey: ["fileentryid"],
      indexes: [{ name: "ix_5391712", unique: true, columns: ["groupid", "folderid", "name"] }],
      rows: function* () {
        for (const d of documents) {
          const first = d.versions[0];
          const latest = d.versions.at(-1) ?? first;
          yield [
            0,
            d.uuid,
            d.fileEntryId,
            d.groupId,
            COMPANY_ID,
            first.user.userId,
            fullName(first.user),
            first.createdAt,
            latest.createdAt,
            d.groupId,
            d.folderId,
            treePath(d),
            d.name,
            d.fileName,
            d.extension,
            d.mimeType,
            d.title,
            d.description,
            latest.version,
            latest.content.length,
          ];
        }
      },
    },
    {
      name: "dlfileversion",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "uuid_ character varying(75)",
        "fileversionid bigint NOT NULL",
        "groupid bigint",
        "companyid bigint",
        "userid bigint",
        "username character varying(75)",
        "createdate timestamp without time zone",
        "repositoryid bigint",
        "folderid bigint",
        "fileentryid bigint",
        "treepath text",
        "filename character varying(255)",
        "extension character varying(75)",
        "mimetype character varying(75)",
        "title character varying(255)",
        "changelog character varying(75)",
        "version character varying(75)",
        "size_ bigint",
        "status integer",
      ],
      primaryKey: ["fileversionid"],
      indexes: [{ name: "ix_e2815081", unique: true, columns: ["fileentryid", "version"] }],
      rows: function* () {
        for (const d of documents) {
          for (const v of d.versions) {
            yield [
              0,
              v.uuid,
              v.fileVersionId,
              d.groupId,
              COMPANY_ID,
              v.user.userId,
              fullName(v.user),
              v.createdAt,
              d.groupId,
              d.folderId,
              d.fileEntryId,
              treePath(d),
              d.fileName,
              d.extension,
              d.mimeType,
              d.title,
              v.changeLog,
              v.version,
              v.content.length,
              0,
            ];
          }
        }
      },
    },
    {
      name: "dlfolder",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "uuid_ character varying(75)",
        "folderid bigint NOT NULL",
        "groupid bigint",
        "companyid bigint",
        "createdate timestamp without time zone",
        "repositoryid bigint",
        "parentfolderid bigint",
        "treepath text",
        "name character varying(255)",
        "description text",
      ],
      primaryKey: ["folderid"],
      indexes: [{ name: "ix_902fd874", unique: true, columns: ["groupid", "parentfolderid", "name"] }],
      rows: () => folders.map((f) => [0, f.uuid, f.folderId, f.groupId, COMPANY_ID, f.createdAt, f.groupId, 0, `/${f.folderId}/`, f.name, f.description]),
    },
    {
      name: "group_",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "uuid_ character varying(75)",
        "groupid bigint NOT NULL",
        "companyid bigint",
        "creatoruserid bigint",
        "parentgroupid bigint",
        "treepath text",
        "groupkey character varying(150)",
        "name text",
        "description text",
        "type_ integer",
        "friendlyurl character varying(255)",
        "site boolean",
        "active_ boolean",
      ],
      primaryKey: ["groupid"],
      indexes: [{ name: "ix_5bddb872", unique: true, columns: ["companyid", "friendlyurl"] }],
      rows: () =>
        groups.map((g) => [
          0,
          g.uuid,
          g.groupId,
          COMPANY_ID,
          people[0]?.userId ?? null,
          0,
          `/${g.groupId}/`,
          g.groupKey,
          `<?xml version='1.0' encoding='UTF-8'?><root available-locales="en_US" default-locale="en_US"><Name language-id="en_US">${g.name}</Name></root>`,
          g.description,
          1,
          g.friendlyUrl,
          g.site,
          true,
        ]),
    },
    {
      name: "journalarticle",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "uuid_ character varying(75)",
        "id_ bigint NOT NULL",
        "resourceprimkey bigint",
        "groupid bigint",
        "companyid bigint",
        "userid bigint",
        "username character varying(75)",
        "createdate timestamp without time zone",
        "modifieddate timestamp without time zone",
        "folderid bigint",
        "treepath text",
        "articleid character varying(75)",
        "version double precision",
        "urltitle character varying(255)",
        "content text",
        "ddmstructurekey character varying(75)",
        "defaultlanguageid character varying(75)",
        "displaydate timestamp without time zone",
        "indexable boolean",
        "status integer",
        "statusbyuserid bigint",
        "statusdate timestamp without time zone",
      ],
      primaryKey: ["id_"],
      indexes: [{ name: "ix_85c52eec", unique: true, columns: ["groupid", "articleid", "version"] }],
      rows: function* () {
        // Its own generator: the rows come out as the dump is read, after the rest was built.
        const random = createRandom(`${data.seed}:journalarticle`);
        const from = new Date(takenAt.getTime() - 2 * 365 * 24 * 60 * 60 * 1000);
        for (let i = 0; i < data.articleCount; i++) {
          const author = random.pick(people);
          const site = random.pick(sites);
          const createdAt = between(random, from, takenAt);
          const modifiedAt = between(random, createdAt, takenAt);
          const title = sentence(random).slice(0, -1);
          const urlTitle = title
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, "-")
            .slice(0, 60);
          const draft = random.next() < 0.1;
          yield [
            0,
            liferayUuid(random),
            50_000 + i * 10,
            50_001 + i * 10,
            site.groupId,
            COMPANY_ID,
            author.userId,
            fullName(author),
            createdAt,
            modifiedAt,
            0,
            "/",
            String(50_002 + i * 10),
            random.int(1, 4) / 10 + 1,
            urlTitle,
            articleContent(random, title),
            "BASIC-WEB-CONTENT",
            "en_US",
            createdAt,
            true,
            draft ? 2 : 0,
            author.userId,
            modifiedAt,
          ];
        }
      },
    },
    {
      name: "user_",
      columns: [
        "mvccversion bigint DEFAULT 0 NOT NULL",
        "uuid_ character varying(75)",
        "userid bigint NOT NULL",
        "companyid bigint",
        "createdate timestamp without time zone",
        "modifieddate timestamp without time zone",
        "defaultuser boolean",
        "contactid bigint",
        "password_ character varying(75)",
        "passwordencrypted boolean",
        "screenname character varying(75)",
        "emailaddress character varying(254)",
        "languageid character varying(75)",
        "timezoneid character varying(75)",
        "firstname character varying(75)",
        "lastname character varying(75)",
        "jobtitle character varying(100)",
        "logindate timestamp without time zone",
        "status integer",
      ],
      primaryKey: ["userid"],
      indexes: [
        { name: "ix_615e9f7a", unique: true, columns: ["companyid", "emailaddress"] },
        { name: "ix_c5806019", unique: true, columns: ["companyid", "screenname"] },
      ],
      rows: () =>
        users.map((u) => [
          0,
          u.uuid,
          u.userId,
          COMPANY_ID,
          u.createdAt,
          u.modifiedAt,
          u.defaultUser,
          u.contactId,
          u.passwordHash,
          true,
          u.screenName,
          u.email,
          "en_US",
          "UTC",
          u.firstName,
          u.lastName,
          u.jobTitle,
          u.loginAt,
          0,
        ]),
    },
  ];
}

function comment(name: string, type: string): string {
  return `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: -\n--\n\n`;
}

/**
 * The dump in the order pg_dump writes it, as plain SQL between the COPY
 * blocks. The text dump (sqlDumpChunks) and the demo's live databases
 * (loadPortalDatabase) are both written from this, so a live database and a
 * restored demo backup have one schema.
 */
export type DumpSection = { kind: "sql"; text: string } | { kind: "copy"; table: string; statement: string; rows: () => Generator<string> };

function* dumpSections(data: PortalData): Generator<DumpSection> {
  const tables = liferayTables(data);
  const sql = (text: string): DumpSection => ({ kind: "sql", text });
  yield sql("--\n-- PostgreSQL database dump\n--\n\n");
  yield sql(`-- Dumped from database version ${DEMO_POSTGRES_VERSION}\n-- Dumped by pg_dump version ${DEMO_POSTGRES_VERSION}\n\n`);
  yield sql(
    [
      "SET statement_timeout = 0;",
      "SET lock_timeout = 0;",
      "SET idle_in_transaction_session_timeout = 0;",
      "SET client_encoding = 'UTF8';",
      "SET standard_conforming_strings = on;",
      "SELECT pg_catalog.set_config('search_path', '', false);",
      "SET check_function_bodies = false;",
      "SET xmloption = content;",
      "SET client_min_messages = warning;",
      "SET row_security = off;",
      "",
      "SET default_tablespace = '';",
      "",
      "SET default_table_access_method = heap;",
      "",
      "",
    ].join("\n"),
  );

  for (const table of tables) {
    yield sql(`${comment(table.name, "TABLE")}CREATE TABLE public.${table.name} (\n${table.columns.map((c) => `    ${c}`).join(",\n")}\n);\n\n\n`);
  }

  for (const table of tables) {
    yield sql(`--\n-- Data for Name: ${table.name}; Type: TABLE DATA; Schema: public; Owner: -\n--\n\n`);
    yield {
      kind: "copy",
      table: table.name,
      statement: `COPY public.${table.name} (${table.columns.map(columnName).join(", ")}) FROM stdin;`,
      rows: function* () {
        for (const row of table.rows()) {
          if (row.length !== table.columns.length)
            throw new Error(`demo dump: a ${table.name} row has ${row.length} values for ${table.columns.length} columns`);
          yield `${row.map(copyValue).join("\t")}\n`;
        }
      },
    };
  }

  for (const table of tables) {
    const constraint = `${table.name}_pkey`;
    yield sql(
      `${comment(`${table.name} ${constraint}`, "CONSTRAINT")}ALTER TABLE ONLY public.${table.name}\n    ADD CONSTRAINT ${constraint} PRIMARY KEY (${table.primaryKey.join(", ")});\n\n\n`,
    );
  }

  for (const table of tables) {
    for (const index of table.indexes) {
      yield sql(
        `${comment(index.name, "INDEX")}CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${index.name} ON public.${table.name} USING btree (${index.columns.join(", ")});\n\n\n`,
      );
    }
  }

  yield sql("--\n-- PostgreSQL database dump complete\n--\n\n");
}

function* dumpText(data: PortalData): Generator<string> {
  for (const section of dumpSections(data)) {
    if (section.kind === "sql") {
      yield section.text;
      continue;
    }
    yield `${section.statement}\n`;
    yield* section.rows();
    yield "\\.\n\n\n";
  }
}

/**
 * Writes the portal into the empty database of the transaction `tx`: the
 * same statements and COPY rows as the text dump, sent through the driver,
 * so seeding a demo database needs no psql. Returns how many rows it copied.
 */
export async function writePortalDatabase(tx: postgres.TransactionSql, data: PortalData): Promise<number> {
  let rows = 0;
  for (const section of dumpSections(data)) {
    if (section.kind === "sql") {
      await tx.unsafe(section.text);
      continue;
    }
    const counted = (function* () {
      for (const row of section.rows()) {
        rows++;
        yield row;
      }
    })();
    await pipeline(Readable.from(counted, { objectMode: false }), await tx.unsafe(section.statement).writable());
  }
  return rows;
}

const CHUNK_CHARS = 64 * 1024;

/** The dump as text chunks of about 64 KiB: whole lines, few enough writes for gzip to stay fast. */
export function* sqlDumpChunks(data: PortalData): Generator<string> {
  let pending = "";
  for (const piece of dumpText(data)) {
    pending += piece;
    if (pending.length >= CHUNK_CHARS) {
      yield pending;
      pending = "";
    }
  }
  if (pending) yield pending;
}
