import { deflateSync } from "node:zlib";

let crcTable: Uint32Array | undefined;

// zlib.crc32 only exists from Node 20.15; package.json allows 20.9.
function crc32(data: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

export type Rgb = readonly [number, number, number];

/** A valid 8-bit RGB PNG, small enough (a few KB) to build in memory. */
export function renderPng(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, truecolour, deflate, no filter, no interlace

  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0; // filter type "None" for every scanline
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * stride + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A lifebuoy on a gradient: red and white quarters of a ring, colours from the seed. */
export function renderLifebuoy(size: number, background: Rgb, accent: Rgb): Buffer {
  const centre = (size - 1) / 2;
  const outer = size * 0.45;
  const inner = size * 0.25;
  return renderPng(size, size, (x, y) => {
    const dx = x - centre;
    const dy = y - centre;
    const distance = Math.hypot(dx, dy);
    if (distance <= outer && distance >= inner) {
      const quarter = Math.floor(((Math.atan2(dy, dx) + Math.PI) / (Math.PI / 2)) % 4);
      return quarter % 2 === 0 ? accent : [250, 250, 250];
    }
    const shade = y / size;
    return [Math.round(background[0] * (1 - shade * 0.4)), Math.round(background[1] * (1 - shade * 0.4)), Math.round(background[2] * (1 - shade * 0.4))];
  });
}
