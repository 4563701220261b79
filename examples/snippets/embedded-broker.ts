// The guide's "Embedded broker" snippet; test/docs.test.ts runs it.
// #region broker
import { startBroker } from "mqtt-contracts";
const broker = await startBroker({ host: "127.0.0.1", port: 0 }); // port 0: a free one
console.log(broker.url); // mqtt://127.0.0.1:40123
await broker.close();
// #endregion broker
