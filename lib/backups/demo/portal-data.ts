import { renderLifebuoy } from "./png";
import type { Rgb } from "./png";
import { createRandom } from "./random";
import type { Random } from "./random";

/*
 * The state of a small Liferay portal at the moment of one demo backup. Both
 * files of the backup are written from it, so the dump's dlfileentry and
 * dlfileversion rows name exactly the files in the document library archive,
 * as they would in a real restore point.
 */

export const COMPANY_ID = 20101;

export interface PortalUser {
  userId: number;
  contactId: number;
  uuid: string;
  screenName: string;
  email: string;
  firstName: string;
  lastName: string;
  jobTitle: string;
  passwordHash: string;
  defaultUser: boolean;
  createdAt: Date;
  modifiedAt: Date;
  loginAt: Date | null;
}

export interface PortalGroup {
  groupId: number;
  uuid: string;
  name: string;
  groupKey: string;
  friendlyUrl: string;
  description: string;
  site: boolean;
  createdAt: Date;
}

export interface PortalFolder {
  folderId: number;
  uuid: string;
  groupId: number;
  name: string;
  description: string;
  createdAt: Date;
}

export interface PortalFileVersion {
  fileVersionId: number;
  uuid: string;
  version: string;
  content: Buffer;
  changeLog: string;
  user: PortalUser;
  createdAt: Date;
}

export interface PortalDocument {
  fileEntryId: number;
  uuid: string;
  groupId: number;
  folderId: number;
  /** The store's file name: Liferay's FileSystemStore keeps each version at `<company>/<repository>/<name>/<version>`. */
  name: string;
  fileName: string;
  title: string;
  extension: string;
  mimeType: string;
  description: string;
  /** Oldest first; never empty. */
  versions: [PortalFileVersion, ...PortalFileVersion[]];
}

export interface PortalData {
  /** Seeds every further choice (the journal articles are generated while the dump streams). */
  seed: string;
  takenAt: Date;
  companyName: string;
  webId: string;
  homeUrl: string;
  users: PortalUser[];
  groups: PortalGroup[];
  folders: PortalFolder[];
  documents: PortalDocument[];
  articleCount: number;
}

const FIRST_NAMES = [
  "Wile",
  "Road",
  "Marvin",
  "Daisy",
  "Elmer",
  "Petunia",
  "Sylvester",
  "Tina",
  "Hazel",
  "Pepe",
  "Lola",
  "Cecil",
  "Gossamer",
  "Penelope",
  "Ralph",
  "Sam",
  "Foghorn",
  "Henery",
  "Bugs",
  "Granny",
];
const LAST_NAMES = [
  "Coyote",
  "Runner",
  "Martian",
  "Duck",
  "Fudd",
  "Pig",
  "Cat",
  "Toon",
  "Witch",
  "LePew",
  "Bunny",
  "Turtle",
  "Monster",
  "Pussyfoot",
  "Wolf",
  "Sheepdog",
  "Leghorn",
  "Hawk",
  "Hare",
  "Bird",
];
const JOB_TITLES = [
  "Product Engineer",
  "Field Tester",
  "Content Editor",
  "Support Agent",
  "Logistics Lead",
  "Safety Officer",
  "Marketing Manager",
  "Site Administrator",
];
const PRODUCTS = [
  "Anvil",
  "Rocket Skates",
  "Giant Magnet",
  "Bird Seed",
  "Tornado Seeds",
  "Earthquake Pills",
  "Dehydrated Boulders",
  "Jet-Propelled Pogo Stick",
  "Instant Hole",
  "Batman Outfit",
  "Super Outfit",
  "Triple-Strength Fortified Leg Muscle Vitamins",
  "Invisible Paint",
  "Rubber Band (Giant)",
  "Spring-Powered Shoes",
  "Iron Bird Seed",
  "Axle Grease",
  "Bat-Man's Outfit",
  "Female Road-Runner Costume",
  "Indestructo Steel Ball",
];

/** The demo environments' portals differ the way real ones do: own host names, fewer users outside production. */
const ENVIRONMENT_FLAVOUR: Record<string, { webId: string; extraUsers: number; colour: Rgb }> = {
  prd: { webId: "acme.com", extraUsers: 40, colour: [32, 84, 160] },
  uat: { webId: "uat.acme.com", extraUsers: 14, colour: [36, 140, 90] },
  dev: { webId: "dev.acme.com", extraUsers: 4, colour: [150, 90, 30] },
};

export function liferayUuid(random: Random): string {
  return `${random.hex(8)}-${random.hex(4)}-${random.hex(4)}-${random.hex(4)}-${random.hex(12)}`;
}

export function between(random: Random, from: Date, to: Date): Date {
  return new Date(from.getTime() + Math.floor(random.next() * Math.max(0, to.getTime() - from.getTime())));
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Where Liferay's FileSystemStore keeps one version of a document, relative to the volume. */
export function storePath(document: PortalDocument, version: PortalFileVersion): string {
  return `document_library/${COMPANY_ID}/${document.groupId}/${document.name}/${version.version}`;
}

function buildUsers(random: Random, webId: string, count: number, takenAt: Date): PortalUser[] {
  const portalStart = new Date(takenAt.getTime() - 700 * DAY_MS);
  const users: PortalUser[] = [];
  const seen = new Set<string>();
  const add = (user: Omit<PortalUser, "userId" | "contactId" | "uuid" | "passwordHash" | "createdAt" | "modifiedAt" | "loginAt">) => {
    const userId = 20123 + users.length * 3;
    const createdAt = users.length < 2 ? portalStart : between(random, portalStart, takenAt);
    users.push({
      ...user,
      userId,
      contactId: userId + 1,
      uuid: liferayUuid(random),
      // The shape of Liferay's PBKDF2 hashes; random bytes, so no password it could ever match.
      passwordHash: `AAAAoAAB9ADp${random.bytes(30).toString("base64")}`,
      createdAt,
      modifiedAt: between(random, createdAt, takenAt),
      loginAt: user.defaultUser ? null : between(random, createdAt, takenAt),
    });
  };
  add({ screenName: "default", email: `default@${webId}`, firstName: "", lastName: "", jobTitle: "", defaultUser: true });
  add({ screenName: "test", email: "test@liferay.com", firstName: "Test", lastName: "Test", jobTitle: "", defaultUser: false });
  while (users.length < count + 2) {
    const firstName = random.pick(FIRST_NAMES);
    const lastName = random.pick(LAST_NAMES);
    let screenName = `${firstName}.${lastName}`.toLowerCase();
    for (let n = 2; seen.has(screenName); n++) screenName = `${firstName}.${lastName}${n}`.toLowerCase();
    seen.add(screenName);
    add({ screenName, email: `${screenName}@${webId}`, firstName, lastName, jobTitle: random.pick(JOB_TITLES), defaultUser: false });
  }
  return users;
}

function text(lines: string[]): Buffer {
  return Buffer.from(`${lines.join("\n")}\n`, "utf8");
}

function priceList(random: Random): Buffer {
  const lines = ["sku,product,unit_price_usd,in_stock"];
  const rows = random.int(40, 80);
  for (let i = 0; i < rows; i++) {
    const product = random.pick(PRODUCTS);
    lines.push(`ACME-${String(1000 + i * 7 + random.int(0, 6))},"${product}",${(random.int(199, 99_999) / 100).toFixed(2)},${random.int(0, 500)}`);
  }
  return text(lines);
}

/** Readings from the Acme test range: a binary blob that does not compress, like most real attachments. */
function sensorExport(random: Random): Buffer {
  const header = Buffer.from("ACMESNSR\u0001\u0000\u0000\u0000", "latin1");
  return Buffer.concat([header, random.bytes(random.int(16, 40) * 1024)]);
}

export interface PortalDataInput {
  /** Anything unique to the backup; its ID in practice. */
  seed: string;
  environment: string;
  takenAt: Date;
  /** How many backups of this environment came before: later backups hold more content. */
  generation: number;
  /** Web content articles in the dump; by default a hundred or two, growing with the generation. */
  articleCount?: number;
}

export function buildPortalData(input: PortalDataInput): PortalData {
  const { seed, takenAt, generation } = input;
  const random = createRandom(seed);
  const flavour = ENVIRONMENT_FLAVOUR[input.environment] ?? { webId: `${input.environment}.acme.com`, extraUsers: 4, colour: [90, 90, 90] };
  const users = buildUsers(random, flavour.webId, flavour.extraUsers + generation * 3 + random.int(0, 6), takenAt);
  const people = users.filter((u) => !u.defaultUser);
  const yearAgo = new Date(takenAt.getTime() - 365 * DAY_MS);
  const someone = () => random.pick(people);
  const at = (from: Date) => between(random, from, takenAt);

  const group = (groupId: number, name: string, friendlyUrl: string, description: string, site: boolean): PortalGroup => ({
    groupId,
    uuid: liferayUuid(random),
    name,
    groupKey: name,
    friendlyUrl,
    description,
    site,
    createdAt: new Date(takenAt.getTime() - 700 * DAY_MS),
  });
  const guest = group(20121, "Guest", "/guest", "", true);
  const intranet = group(32145, "Acme Intranet", "/intranet", "Policies, price lists and meeting notes for Acme staff.", true);
  const groups = [group(20119, "Control Panel", "/control_panel", "", false), guest, group(20124, "Global", "/global", "", true), intranet];

  const folder = (folderId: number, name: string, description: string): PortalFolder => ({
    folderId,
    uuid: liferayUuid(random),
    groupId: intranet.groupId,
    name,
    description,
    createdAt: at(yearAgo),
  });
  const policies = folder(32201, "Policies", "Signed-off company policies");
  const marketing = folder(32202, "Marketing", "");
  const meetings = folder(32203, "Meeting notes", "");
  const folders = [policies, marketing, meetings];

  let nextFileEntryId = 40101;
  let nextFileVersionId = 40102;
  const documents: PortalDocument[] = [];
  const addDocument = (
    place: { groupId: number; folderId: number },
    file: { fileName: string; title: string; mimeType: string; description?: string },
    contents: [Buffer, ...Buffer[]],
  ) => {
    const fileEntryId = nextFileEntryId;
    nextFileEntryId += 100;
    let createdAt = at(yearAgo);
    const versions = contents.map((content, index) => {
      const user = someone();
      const version: PortalFileVersion = {
        fileVersionId: nextFileVersionId++,
        uuid: liferayUuid(random),
        version: `1.${index}`,
        content,
        changeLog: index === 0 ? "" : "Updated",
        user,
        createdAt,
      };
      createdAt = at(createdAt);
      return version;
    }) as [PortalFileVersion, ...PortalFileVersion[]];
    documents.push({
      fileEntryId,
      uuid: liferayUuid(random),
      ...place,
      // Liferay names stored files after a counter, not after the upload's name.
      name: String(fileEntryId + 7),
      fileName: file.fileName,
      title: file.title,
      extension: file.fileName.slice(file.fileName.lastIndexOf(".") + 1),
      mimeType: file.mimeType,
      description: file.description ?? "",
      versions,
    });
  };

  const welcome = [`Welcome to the ${flavour.webId} intranet.`, "", "Ask the Safety Office before field-testing any product."];
  addDocument({ groupId: guest.groupId, folderId: 0 }, { fileName: "welcome.txt", title: "Welcome", mimeType: "text/plain" }, [
    text(welcome),
    text([...welcome, "Rocket skates may only be tested on the test range, never in the canyon."]),
  ]);
  addDocument({ groupId: guest.groupId, folderId: 0 }, { fileName: "acme-lifebuoy.png", title: "Acme lifebuoy", mimeType: "image/png" }, [
    renderLifebuoy(48, flavour.colour, [200 + random.int(0, 40), random.int(20, 60), random.int(20, 60)]),
  ]);
  addDocument({ groupId: guest.groupId, folderId: 0 }, { fileName: "site-settings.json", title: "Site settings export", mimeType: "application/json" }, [
    Buffer.from(
      `${JSON.stringify({ webId: flavour.webId, locale: "en_US", timeZone: "UTC", maintenanceWindow: "Sun 02:00-04:00", exportedAt: takenAt.toISOString() }, null, 2)}\n`,
    ),
  ]);
  addDocument(
    { groupId: intranet.groupId, folderId: marketing.folderId },
    { fileName: "price-list.csv", title: "Price list", mimeType: "text/csv", description: "Catalogue prices, USD" },
    [priceList(random)],
  );
  const policy = ["# Travel policy", "", "1. Book through the travel desk.", "2. Portable holes count as luggage."];
  addDocument(
    { groupId: intranet.groupId, folderId: policies.folderId },
    { fileName: "travel-policy.md", title: "Travel policy", mimeType: "text/markdown" },
    random.next() < 0.5 ? [text(policy)] : [text(policy), text([...policy, "3. Giant magnets travel as freight."])],
  );
  addDocument(
    { groupId: intranet.groupId, folderId: 0 },
    { fileName: "sensor-export.bin", title: "Test range sensor export", mimeType: "application/octet-stream" },
    [sensorExport(random)],
  );
  for (let i = 0; i <= Math.min(generation, 3); i++) {
    const day = new Date(takenAt.getTime() - (i * 7 + 1) * DAY_MS).toISOString().slice(0, 10);
    const attendees = [someone(), someone(), someone()].map((u) => `${u.firstName} ${u.lastName}`);
    addDocument(
      { groupId: intranet.groupId, folderId: meetings.folderId },
      { fileName: `meeting-notes-${day}.txt`, title: `Meeting notes ${day}`, mimeType: "text/plain" },
      [
        text([
          `Meeting notes, ${day}`,
          `Attendees: ${attendees.join(", ")}`,
          "",
          `- ${random.pick(PRODUCTS)}: ${random.int(2, 40)} complaints this week`,
          "- Next review in two weeks",
        ]),
      ],
    );
  }

  return {
    seed,
    takenAt,
    companyName: "Acme",
    webId: flavour.webId,
    homeUrl: `https://${flavour.webId}/web/guest`,
    users,
    groups,
    folders,
    documents,
    articleCount: input.articleCount ?? 120 + generation * 25 + random.int(0, 30),
  };
}
