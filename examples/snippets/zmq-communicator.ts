// A stand-in for a communicator module loaded on first use (see plugins.ts).
import { MemoryCommunicator } from "mqtt-contracts";

export class ZmqCommunicator extends MemoryCommunicator {}
