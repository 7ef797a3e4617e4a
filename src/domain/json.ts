// JSON values as events, commands and read models carry them. The domain's own type, so that the domain
// imports nothing from outside it; the ports build on it.
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
