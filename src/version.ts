/**
 * This package's version, as its package.json says (test/browser-bundle.test.ts checks that they agree).
 * A constant rather than a read of package.json, so that the runtime needs no file system and loads in a
 * browser; `npm version` does not update it: change both.
 */
export const PACKAGE_VERSION = "0.1.0";
