import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VigilError } from '#core/errors.ts';
import type { PackageStaging, UploadTicket } from '#core/ports.ts';
import { assertModelName } from '#core/registry/rules.ts';
/** Path of the twin's upload route; the URL a ticket hands out points at the twin itself. */
export const LOCAL_UPLOAD_ROUTE = '/local/uploads/{model}/{id}';

/** Options of {@link FsPackageStaging}. */
export interface FsPackageStagingOptions {
  /** Directory holding staged zips and pending tickets. */
  readonly dir: string;
  /** Base URL of the twin (`http://127.0.0.1:3000`), where the upload route is served. */
  readonly baseUrl: string;
  /** @default 900 */
  readonly expiresInSeconds?: number;
  /** @default 1 GiB */
  readonly maxBytes?: number;
}

interface Ticket {
  readonly tokenSha256: string;
  readonly expiresAt: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * How the twin names a staged zip: an opaque handle, not a `file://` path, so the upload ticket
 * and the registration that quotes it carry no local directory over HTTP (responses are cleaned
 * of local paths, and a cleaned path could not be sent back).
 */
export const STAGED_SCHEME = 'vigil-staging://';

/**
 * The twin's stand-in for presigned S3 uploads: a ticket is a random, single-use
 * token in the upload URL (a capability, like a presigned URL's signature) with
 * an expiry, kept hashed beside the staging directory. `accept` is what the
 * twin's `PUT /local/uploads/{model}/{id}` route calls.
 */
export class FsPackageStaging implements PackageStaging {
  readonly dir: string;
  readonly #o: FsPackageStagingOptions;

  constructor(opts: FsPackageStagingOptions) {
    this.dir = resolve(opts.dir);
    this.#o = opts;
  }

  async createUpload(model: string): Promise<UploadTicket> {
    assertModelName(model);
    const id = randomUUID();
    const token = randomBytes(24).toString('base64url');
    const expiresAt = new Date(Date.now() + (this.#o.expiresInSeconds ?? 900) * 1000).toISOString();
    const ticket: Ticket = { tokenSha256: sha256(token).toString('hex'), expiresAt };
    await mkdir(join(this.dir, model), { recursive: true });
    await writeFile(this.#ticketPath(model, id), JSON.stringify(ticket), { mode: 0o600 });
    const path = LOCAL_UPLOAD_ROUTE.replace('{model}', model).replace('{id}', id);
    return {
      uploadUrl: `${this.#o.baseUrl.replace(/\/+$/, '')}${path}?token=${token}`,
      method: 'PUT',
      headers: { 'content-type': 'application/zip' },
      uri: `${STAGED_SCHEME}${model}/${id}.zip`,
      expiresAt,
    };
  }

  /**
   * Stores an upload if its ticket is valid, unexpired and unused.
   * @throws VigilError Forbidden (bad or used token, expired) | PayloadTooLarge | BadRequest
   */
  async accept(model: string, id: string, token: string | undefined, body: Uint8Array): Promise<void> {
    assertModelName(model);
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new VigilError('BadRequest', `Invalid upload id '${id}'`);
    const denied = () => new VigilError('Forbidden', 'Upload URL is invalid, expired or already used');
    let ticket: Ticket;
    try {
      ticket = JSON.parse(await readFile(this.#ticketPath(model, id), 'utf8')) as Ticket;
    } catch {
      throw denied();
    }
    const presented = sha256(token ?? '');
    if (!timingSafeEqual(presented, Buffer.from(ticket.tokenSha256, 'hex'))) throw denied();
    if (Date.parse(ticket.expiresAt) <= Date.now()) throw denied();
    const max = this.#o.maxBytes ?? 1024 * 1024 * 1024;
    if (body.length > max) throw new VigilError('PayloadTooLarge', `Upload exceeds ${max} bytes`);
    const tmp = `${this.#zipPath(model, id)}.${randomUUID()}.tmp`;
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, this.#zipPath(model, id));
    // Single use, as a presigned URL for one key is in effect once the object exists.
    await rm(this.#ticketPath(model, id), { force: true });
  }

  async read(uri: string): Promise<Uint8Array> {
    const m = /^([a-z0-9][a-z0-9_-]{0,62})\/([0-9a-f-]{36})\.zip$/.exec(
      uri.startsWith(STAGED_SCHEME) ? uri.slice(STAGED_SCHEME.length) : '',
    );
    if (!m) {
      throw new VigilError('BadRequest', `'${uri}' is not a staged package of this twin`, { uri });
    }
    try {
      return new Uint8Array(await readFile(this.#zipPath(m[1], m[2])));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new VigilError('NotFound', `Nothing was uploaded to ${uri} (or the upload expired)`, { uri });
      }
      throw e;
    }
  }

  #ticketPath(model: string, id: string): string {
    return join(this.dir, model, `${id}.ticket.json`);
  }

  #zipPath(model: string, id: string): string {
    return join(this.dir, model, `${id}.zip`);
  }
}
