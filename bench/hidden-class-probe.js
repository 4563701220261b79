// node --allow-natives-syntax bench/hidden-class-probe.js
// Does an object made by mqtt.js's options merge keep one V8 hidden class when a key the defaults lack is added?
// docs/performance.md shows the lines between the region marks; test/docs.test.ts runs this file.
// #region probe
const merge = (opts) => ({ ...{ qos: 0, retain: false, dup: false }, ...opts });
const merged = Array.from({ length: 10 }, () => merge({ qos: 1, properties: {} }));
%HaveSameMap(merged[8], merged[9]); // false on Node 20.20, true on Node 22.23
// #endregion probe
console.log(`${process.version}: same hidden class: ${%HaveSameMap(merged[8], merged[9])}`);
