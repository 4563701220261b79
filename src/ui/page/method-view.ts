/**
 * One method or notification of a service: its name, kind and description, and, once opened, the params
 * form, a button that calls it (or sends it, or starts its stream), and what came back.
 */
import type { OpenRpcMethod } from "../../instances/openrpc.js";
import type { MqttCommunicator } from "../../mqtt/mqtt-communicator.js";
import { TARGET } from "./clients.js";
import { append, el, short } from "./dom.js";
import { paramsSchema } from "./form-schema.js";
import { OutcomeView } from "./outcome-view.js";
import { ParamsForm } from "./params-form.js";

const CALL_TIMEOUT_MS = 30_000;
const STREAM_TIMEOUT_MS = 600_000;

export class MethodView {
  readonly element: HTMLDetailsElement;
  private form: ParamsForm | undefined;
  private readonly outcome = new OutcomeView();
  private readonly body = el("div", { class: "method-body" });

  constructor(
    private readonly method: OpenRpcMethod,
    private readonly client: () => Promise<MqttCommunicator>,
  ) {
    const kind = method["x-notification"] ? "notification" : method["x-stream"] ? "stream" : "method";
    this.element = el(
      "details",
      { class: `method kind-${kind}`, "data-method": short(method.name, 256) },
      el("summary", {}, el("span", { class: "method-name" }, short(method.name, 256)), " ", el("span", { class: `badge ${kind}` }, kind), method.description ? el("span", { class: "summary-description" }, ` ${short(method.description.split("\n")[0]!, 160)}`) : null),
      this.body,
    );
    this.element.addEventListener("toggle", () => {
      if (this.element.open && this.form === undefined) this.build();
    });
  }

  /** Stop what runs (a stream) and free the form. */
  destroy(): void {
    this.cancel?.();
    this.form?.destroy();
  }

  private cancel: (() => void) | undefined;

  private build(): void {
    const method = this.method;
    if (method.description) this.body.append(el("p", { class: "description" }, short(method.description, 4_000)));
    if (method["x-unchecked"]) this.body.append(el("p", { class: "note" }, "Registered without a contract: its params are not known; type them as JSON."));
    this.form = new ParamsForm(paramsSchema(method.params));
    const kind = method["x-notification"] ? "Send" : method["x-stream"] ? "Start stream" : "Call";
    const button = el("button", { class: "invoke", type: "button", onclick: () => void this.invoke(button) }, kind);
    const errors = (method.errors ?? []).slice(0, 50).map((error) => el("li", {}, `${error.code}: ${short(error.message, 300)}`));
    // The button comes before the form, so that what the form shows as it validates never moves it.
    append(this.body, el("div", { class: "actions" }, button), this.form.element, errors.length > 0 ? el("details", { class: "declared-errors" }, el("summary", {}, "errors it may answer"), el("ul", {}, ...errors)) : null, this.outcome.element);
    if (method.result !== undefined && !method["x-unchecked"]) this.body.append(el("details", { class: "schema" }, el("summary", {}, "result schema"), el("pre", {}, short(JSON.stringify(method.result.schema, null, 2) ?? "", 20_000))));
  }

  private async invoke(button: HTMLButtonElement): Promise<void> {
    const form = this.form!;
    const params = form.params();
    form.clearIssues();
    if (typeof params === "string") {
      this.outcome.error(new Error(params));
      return;
    }
    button.disabled = true;
    const started = performance.now();
    try {
      const client = await this.client();
      if (this.method["x-notification"]) {
        await client.sendNotification(TARGET, this.method.name, params);
        this.outcome.sent(`sent at ${new Date().toLocaleTimeString()}`);
      } else if (this.method["x-stream"]) {
        await this.stream(client, params, started);
      } else {
        this.outcome.pending("calling…");
        const result = await client.sendRequest(TARGET, this.method.name, params, { timeoutMs: CALL_TIMEOUT_MS });
        this.outcome.result(result, performance.now() - started);
      }
    } catch (error) {
      form.showIssues(this.outcome.error(error));
    } finally {
      button.disabled = false;
    }
  }

  private async stream(client: MqttCommunicator, params: Record<string, unknown>, started: number): Promise<void> {
    const stream = client.sendStream(TARGET, this.method.name, params, { timeoutMs: STREAM_TIMEOUT_MS });
    this.cancel = () => stream.cancel("cancelled in the UI");
    this.outcome.streamStarted(this.cancel);
    try {
      for await (const item of stream) this.outcome.item(item);
      const result = await stream.result;
      this.outcome.streamEnded();
      this.outcome.result(result, performance.now() - started);
    } catch (error) {
      this.outcome.streamEnded();
      throw error;
    } finally {
      this.cancel = undefined;
    }
  }
}
