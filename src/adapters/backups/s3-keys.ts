// How backup keys map to S3 object keys under a prefix: apart from the SDK, so that a backup's location can
// be named before (or without) loading it.
export function s3Keys(bucket: string, prefix = '') {
  const base = prefix.replace(/^\/+|\/+$/g, '');
  const prefixed = (key: string) => (base ? `${base}/${key}` : key);
  return {
    prefixed,
    unprefixed: (key: string) => (base ? key.slice(base.length + 1) : key),
    location: (key: string) => `s3://${bucket}/${prefixed(key)}`,
  };
}
