// Backup storage on S3 (or an S3-compatible server: MinIO, s3rver) under a bucket and a key prefix. Large
// objects go up as multipart uploads (lib-storage): the object appears only when the upload completes,
// and a failed upload is aborted, so a key holds a whole object or nothing, as the port requires.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { BackupObjectNotFoundError, BackupStorageError, type BackupObject, type BackupStorage } from '../../ports/backup-storage.js';
import { s3Keys } from './s3-keys.js';

export interface S3BackupStorageOptions {
  readonly bucket: string;
  /** Keys live under this prefix (`a/b` or `a/b/`; empty: the bucket's root). */
  readonly prefix?: string;
  readonly region?: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly serverSideEncryption?: 'AES256' | 'aws:kms';
  readonly kmsKeyId?: string;
  /** Multipart part size (at least 5 MiB, S3's minimum). */
  readonly partSize?: number;
  /** Parts uploaded at once. */
  readonly queueSize?: number;
  /** Attempts per request before an error surfaces (the SDK's retry with backoff). */
  readonly maxAttempts?: number;
  /** Milliseconds to wait for a connection / a response before the attempt fails. */
  readonly connectionTimeoutMs?: number;
  readonly client?: S3Client;
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isNotFound = (error: unknown) =>
  statusOf(error) === 404 || ['NoSuchKey', 'NotFound'].includes((error as { name?: string }).name ?? '');

export function createS3BackupStorage(options: S3BackupStorageOptions): BackupStorage & { readonly client: S3Client } {
  const { prefixed, unprefixed, location } = s3Keys(options.bucket, options.prefix);
  const client =
    options.client ??
    new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 5000, requestTimeout: 120_000 },
    });
  const encryption = options.serverSideEncryption
    ? {
        ServerSideEncryption: options.serverSideEncryption as ServerSideEncryption,
        ...(options.kmsKeyId ? { SSEKMSKeyId: options.kmsKeyId } : {}),
      }
    : {};
  const failed = (key: string, action: string, error: unknown) =>
    error instanceof BackupStorageError || error instanceof BackupObjectNotFoundError
      ? error
      : new BackupStorageError(`s3 ${action} ${prefixed(key)}: ${(error as Error).message || (error as Error).name}`, key, {
          cause: error,
        });

  return {
    kind: 's3',
    client,
    location,

    async put(key, body) {
      const upload = new Upload({
        client,
        params: { Bucket: options.bucket, Key: prefixed(key), Body: body, ...encryption },
        partSize: Math.max(5 * 1024 * 1024, options.partSize ?? 8 * 1024 * 1024),
        queueSize: options.queueSize ?? 4,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (error) {
        throw failed(key, 'put', error);
      }
      const head = await client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: prefixed(key) })).catch((error: unknown) => {
        throw failed(key, 'head', error);
      });
      return { key, bytes: head.ContentLength ?? 0 };
    },

    async get(key) {
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: prefixed(key) }));
        return response.Body as Readable;
      } catch (error) {
        if (isNotFound(error)) throw new BackupObjectNotFoundError(key);
        throw failed(key, 'get', error);
      }
    },

    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: options.bucket, Key: prefixed(key) }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw failed(key, 'head', error);
      }
    },

    async *list(prefix): AsyncGenerator<BackupObject> {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({
              Bucket: options.bucket,
              Prefix: prefixed(prefix),
              ...(token ? { ContinuationToken: token } : {}),
            }),
          );
        } catch (error) {
          throw failed(prefix, 'list', error);
        }
        for (const object of page.Contents ?? []) if (object.Key) yield { key: unprefixed(object.Key), bytes: object.Size ?? 0 };
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: prefixed(key) }));
      } catch (error) {
        if (!isNotFound(error)) throw failed(key, 'delete', error);
      }
    },
  };
}
