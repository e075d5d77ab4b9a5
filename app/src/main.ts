/**
 * The requester's web app: the registry's models, a request form (a drawn or held-out digit,
 * shown as it will be committed, paid from a development account or an injected wallet), each
 * request live as it is claimed and settled, with its attestation checked on demand, and the
 * market's figures. app/serve.ts serves it with its configuration.
 */
import "./style.css";
import { formatUnits } from "ethers";
import { attestationRoot, factOf } from "../../scripts/chain/attestations.ts";
import { requestBinding } from "../../scripts/chain/binding.ts";
import { postRequests } from "../../scripts/chain/requester.ts";
import { RequestStatus } from "../../scripts/chain/terms.ts";
import { packedCommitment } from "../../scripts/circuit/reference.ts";
import { IMAGE_SIZE } from "../../scripts/model/digit-image.ts";
import { barChart, perMinute } from "./charts.ts";
import { connectChain, developmentPayers, injectedPayer, short, shortError, type Chain, type Payer } from "./chain.ts";
import type { AppCircuit, AppConfig, AppDigits } from "./config.ts";
import { MarketFeed, type RequestView } from "./feed.ts";
import { decodeBase64, DrawPad, showPixels } from "./input.ts";
import { decodeOutput, predict, readModels, type ModelView } from "./models.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
const STATUS = ["None", "Open", "Claimed", "Fulfilled", "Refunded"];
/** Requests shown in the live table, newest first. */
const SHOWN_REQUESTS = 25;
const CHART_MINUTES = 10;

const state: {
  config?: AppConfig;
  chain?: Chain;
  feed?: MarketFeed;
  models: ModelView[];
  payers: Payer[];
  input?: { pixels: Uint8Array; source: string };
  digits?: AppDigits;
  /** Requests posted from this page. */
  mine: Set<bigint>;
} = { models: [], payers: [], mine: new Set() };

function setStatus(el: HTMLElement, text: string, kind: "ok" | "error" | "busy" = "ok"): void {
  el.textContent = text;
  el.dataset.kind = kind;
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);
const model = (id: bigint) => state.models.find((m) => m.id === id);
const amount = (value: bigint, m: ModelView | undefined) =>
  m ? `${formatUnits(value, m.decimals)} ${m.symbol}` : formatUnits(value);

// ---- models -----------------------------------------------------------------------------------

function renderModels(): void {
  $("model-rows").innerHTML = state.models
    .map((m) => {
      const c = m.circuit;
      const f = c?.fidelity;
      const version =
        `v${m.version}` +
        (m.previousVersion ? ` (after #${m.previousVersion})` : "") +
        (m.nextVersion ? ` → #${m.nextVersion}` : "");
      const fidelity = f
        ? `${(f.top1Agreement * 100).toFixed(1)}% top-1 agreement with the float model on ${f.inputs} held-out inputs` +
          (f.quantizedAccuracy !== undefined ? `; accuracy ${(f.quantizedAccuracy * 100).toFixed(1)}%` : "")
        : "–";
      return (
        `<tr data-model-id="${m.id}"${m.active ? "" : ' class="inactive"'}>` +
        `<td>#${m.id}${m.active ? "" : " (inactive)"}</td>` +
        `<td data-field="mode">${m.mode}</td>` +
        `<td data-field="version">${version}</td>` +
        `<td data-field="price">${esc(amount(m.price, m))}</td>` +
        `<td data-field="circuit">${c ? esc(c.circuit) + (c.insecurePtau ? ' <span class="warn">dev ptau</span>' : "") : '<span class="note">no manifest here</span>'}</td>` +
        `<td data-field="constraints">${c ? c.constraints.toLocaleString("en-US") : "–"}</td>` +
        `<td data-field="fidelity">${fidelity}</td>` +
        `<td class="mono" title="${m.owner}">${short(m.owner)}</td>` +
        `</tr>`
      );
    })
    .join("");
  const select = $<HTMLSelectElement>("model-select");
  const chosen = select.value;
  select.innerHTML = state.models
    .filter((m) => m.active)
    .map(
      (m) =>
        `<option value="${m.id}">#${m.id} ${esc(m.circuit?.circuit ?? m.mode)} · ${esc(amount(m.price, m))}</option>`,
    )
    .join("");
  if (chosen && state.models.some((m) => String(m.id) === chosen && m.active)) select.value = chosen;
  else if (state.config?.deployment.modelId) select.value = state.config.deployment.modelId;
}

const selectedModel = () => model(BigInt($<HTMLSelectElement>("model-select").value || "0"));
const selectedPayer = () => state.payers[Number($<HTMLSelectElement>("account-select").value)];

// ---- input ------------------------------------------------------------------------------------

function setInput(pixels: Uint8Array, source: string): void {
  state.input = { pixels, source };
  showPixels($<HTMLCanvasElement>("preview"), $("input-bytes"), pixels);
  $("input-source").textContent = source;
  $("input-commitment").textContent = packedCommitment(pixels, 8).toString();
  showPrediction();
}

function showPrediction(): void {
  const el = $("input-prediction");
  const q = selectedModel()?.circuit?.quantized;
  if (!state.input) return;
  if (!q || q.inputSize !== IMAGE_SIZE) {
    el.textContent = "no integer reference of this model here";
    delete el.dataset.predicted;
    return;
  }
  const { predicted } = predict(q, state.input.pixels);
  el.textContent = `class ${predicted}: what the proof must show`;
  el.dataset.predicted = String(predicted);
}

async function pickDigit(index: number): Promise<void> {
  state.digits ??= (await (await fetch("digits.json")).json()) as AppDigits;
  const n = state.digits.digits.length;
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    $("digit-note").textContent = `index ${index} is outside the ${n} held-out digits (0..${n - 1})`;
    return;
  }
  const d = state.digits.digits[index];
  $<HTMLInputElement>("digit-index").value = String(index);
  $("digit-note").textContent =
    `held-out digit #${index} of ${n} (an index into the test set, not a class): its label is ${d.label}`;
  setInput(decodeBase64(d.pixels), `held-out digit #${index}, label ${d.label}`);
}

// ---- paying -----------------------------------------------------------------------------------

async function showBalance(): Promise<void> {
  const payer = selectedPayer();
  const m = selectedModel();
  const chain = state.chain;
  const mint = $<HTMLButtonElement>("mint");
  if (!payer || !m || !chain) return;
  if (!payer.address) {
    $("balance").textContent = "the wallet is not connected yet: it asks when the page first sends";
    mint.hidden = true;
    return;
  }
  const balance = await chain.token(m.feeToken).balanceOf(payer.address);
  $("balance").textContent = `${payer.address} holds ${amount(balance, m)}; the fee is ${amount(m.price, m)}`;
  $("balance").dataset.balance = balance.toString();
  // Development tokens only: the deployment's TestToken lets anyone mint.
  mint.hidden = !(payer.development && m.feeToken.toLowerCase() === state.config!.deployment.token.toLowerCase());
  mint.textContent = `Mint ${formatUnits(10n * m.price, m.decimals)} ${m.symbol} (test token)`;
}

async function mintTokens(): Promise<void> {
  const payer = selectedPayer();
  const m = selectedModel();
  const out = $("post-status");
  if (!payer || !m || !state.chain) return;
  setStatus(out, "minting…", "busy");
  try {
    const signer = await payer.signer();
    await (await state.chain.token(m.feeToken, signer).mint(payer.address, 10n * m.price)).wait();
    setStatus(out, `minted ${amount(10n * m.price, m)} to ${short(payer.address)}`);
  } catch (err) {
    setStatus(out, `mint failed: ${shortError(err)}`, "error");
  }
  await showBalance();
}

async function post(): Promise<void> {
  const out = $("post-status");
  delete out.dataset.requestId;
  setStatus(out, "checking the balance…", "busy");
  const chain = state.chain;
  const m = selectedModel();
  const payer = selectedPayer();
  if (!chain || !state.input) return setStatus(out, "draw a digit or pick a held-out one first", "error");
  if (!m) return setStatus(out, "choose a model", "error");
  if (!payer) return setStatus(out, "no account to pay from: connect a wallet", "error");
  const q = m.circuit?.quantized;
  if (q && q.inputSize !== state.input.pixels.length)
    return setStatus(
      out,
      `model #${m.id} takes ${q.inputSize} inputs; this input has ${state.input.pixels.length}`,
      "error",
    );
  // A wallet not yet connected connects here; a development account is at hand.
  let signer;
  try {
    signer = await payer.signer();
  } catch (err) {
    return setStatus(out, `no account: ${shortError(err)}`, "error");
  }
  const balance = await chain.token(m.feeToken).balanceOf(payer.address);
  if (balance < m.price)
    return setStatus(
      out,
      `${short(payer.address)} holds ${amount(balance, m)}, less than the fee of ${amount(m.price, m)}` +
        (payer.development ? ": mint test tokens first" : ""),
      "error",
    );
  setStatus(out, `escrowing ${amount(m.price, m)} from ${short(payer.address)}…`, "busy");
  try {
    const [posted] = await postRequests(chain.market, signer, m.id, [state.input.pixels]);
    state.mine.add(posted.requestId);
    setStatus(
      out,
      `request #${posted.requestId} posted: ${amount(posted.fee, m)} escrowed, commitment ${posted.inputCommitment}`,
    );
    out.dataset.requestId = posted.requestId.toString();
  } catch (err) {
    setStatus(out, `not posted: ${shortError(err)}`, "error");
  }
  await showBalance();
  await refresh();
}

// ---- proving in the page ------------------------------------------------------------------------

type ProverModule = typeof import("../../scripts/prove/browser-entry.ts");
type CircuitProver = Awaited<ReturnType<ProverModule["CircuitProver"]["fromBytes"]>>;
const provers = new Map<string, Promise<CircuitProver>>();

/** Fetches an artifact and checks it against the sha256 its manifest pins, as the Node prover does. */
async function checkedArtifact(url: string, sha256: string, what: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${what} (${url}): ${response.status} ${await response.text()}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const actual = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (actual !== sha256)
    throw new Error(
      `${what} has sha256 ${actual.slice(0, 16)}…, its manifest pins ${sha256.slice(0, 16)}…: refusing to prove with it`,
    );
  return bytes;
}

/** The circuit's prover, loaded once: the browser bundle, the witness code and the zkey. */
function proverFor(c: AppCircuit): Promise<CircuitProver> {
  let p = provers.get(c.vkHash);
  if (!p) {
    const a = c.prover!;
    p = (async () => {
      const bundle = new URL(state.config!.proverBundle, location.href).href;
      const [mod, wasm, zkey] = await Promise.all([
        import(/* @vite-ignore */ bundle) as Promise<ProverModule>,
        checkedArtifact(a.wasm, a.wasmSha256, `the witness code of ${c.circuit}`),
        checkedArtifact(a.zkey, a.zkeySha256, `the proving key of ${c.circuit}`),
      ]);
      return mod.CircuitProver.fromBytes(c.circuit, wasm, zkey, `${c.circuit}.zkey`);
    })();
    p.catch(() => provers.delete(c.vkHash));
    provers.set(c.vkHash, p);
  }
  return p;
}

/**
 * Proves the input in the page and records it with `attest`: the proof is bound to request id 0
 * and the sender, so only this account can submit it and no request can be settled with it.
 */
async function attest(): Promise<void> {
  const out = $("attest-status");
  delete out.dataset.attested;
  const chain = state.chain;
  const m = selectedModel();
  const payer = selectedPayer();
  const c = m?.circuit;
  if (!chain || !state.input) return setStatus(out, "draw a digit or pick a held-out one first", "error");
  if (!m || !c?.prover)
    return setStatus(out, `no proving key of model #${m?.id ?? "?"} here: the server has no manifest of it`, "error");
  if (!payer) return setStatus(out, "no account to send from: connect a wallet", "error");
  const pixels = state.input.pixels;
  try {
    setStatus(
      out,
      `loading the prover of ${c.circuit} (witness code and proving key, checked against its manifest)…`,
      "busy",
    );
    const prover = await proverFor(c);
    const signer = await payer.signer();
    const sender = await signer.getAddress();
    const commitment = packedCommitment(pixels, 8);
    const binding = requestBinding(chain.chainId, await chain.market.getAddress(), 0n, sender);
    setStatus(out, "proving in this page…", "busy");
    const proof = await prover.prove({ pixels: Array.from(pixels), binding });
    const [provedCommitment, output, provedBinding] = proof.publicSignals;
    if (provedCommitment !== commitment || provedBinding !== binding)
      throw new Error("the proof's public signals are not this input's commitment and binding");
    const ref = c.quantized && predict(c.quantized, pixels);
    if (ref && ref.output !== output)
      throw new Error(`the proven output ${output} differs from the integer reference's ${ref.output}: not sent`);
    setStatus(out, "sending attest()…", "busy");
    const receipt = await (await chain.market.connect(signer).attest(m.id, commitment, output, proof.calldata)).wait();
    const fact = factOf(m.id, commitment, output);
    // An attestation is a record of one fact: its root is that fact's leaf, its proof empty.
    const attested = await chain.market.isAttested(fact, attestationRoot([fact]), []);
    const { predicted } = decodeOutput(m, output);
    setStatus(
      out,
      `proved in this page (witness ${Math.round(proof.witnessMs)} ms, proof ${Math.round(proof.proveMs)} ms), ` +
        `attest() used ${receipt!.gasUsed.toLocaleString("en-US")} gas: class ${predicted ?? "?"}, ` +
        `fact ${fact.slice(0, 10)}… ${attested ? "attested" : "NOT attested"} (isAttested(fact, root, []))`,
      attested ? "ok" : "error",
    );
    Object.assign(out.dataset, {
      attested: String(attested),
      fact,
      class: String(predicted ?? ""),
      gas: receipt!.gasUsed.toString(),
    });
  } catch (err) {
    setStatus(out, `not attested: ${shortError(err)}`, "error");
  }
}

// ---- requests and market ------------------------------------------------------------------------

function timeline(r: RequestView): string {
  const parts = [`requested ${clock(r.requestedAt)}`];
  if (r.claimedAt !== undefined) parts.push(`claimed +${r.claimedAt - r.requestedAt} s`);
  if (r.settledAt !== undefined) parts.push(`proved and settled +${r.settledAt - r.requestedAt} s`);
  if (r.refundedAt !== undefined) parts.push(`refunded +${r.refundedAt - r.requestedAt} s`);
  return parts.join(" · ");
}

function logitBars(logits: number[], predicted: number | undefined): string {
  const max = Math.max(1, ...logits.map(Math.abs));
  const bars = logits
    .map((l, i) => {
      const h = (Math.abs(l) / max) * 14;
      const y = l >= 0 ? 15 - h : 15;
      return `<rect x="${i * 8}" y="${y}" width="6" height="${Math.max(h, 0.5)}" class="${i === predicted ? "top" : ""}"><title>class ${i}: ${l}</title></rect>`;
    })
    .join("");
  return `<svg class="logits" viewBox="0 0 80 30" data-logits="${logits.join(",")}">${bars}</svg>`;
}

function renderRequests(): void {
  const feed = state.feed!;
  const rows = [...feed.requests.values()].sort((a, b) => Number(b.id - a.id)).slice(0, SHOWN_REQUESTS);
  $("request-rows").innerHTML = rows
    .map((r) => {
      const m = model(r.modelId);
      const decoded = r.output !== undefined ? decodeOutput(m, r.output) : {};
      const a = r.attestation;
      const attestation =
        r.output === undefined
          ? "–"
          : `<span class="mono" title="${a?.fact ?? ""}">${a ? a.fact.slice(0, 10) + "…" : ""}</span> ` +
            (a
              ? `<span data-field="attested" class="${a.attested ? "ok" : "error"}">${a.attested ? "attested" : "NOT attested"}</span> <span class="note">${esc(a.call)}</span>`
              : `<button type="button" data-check="${r.id}">Check attestation</button>`);
      const cls =
        decoded.predicted !== undefined
          ? String(decoded.predicted)
          : r.output !== undefined
            ? `<span class="mono" title="${r.output}">raw ${r.output.toString(16).slice(0, 8)}…</span>`
            : "–";
      return (
        `<tr data-request-id="${r.id}"${state.mine.has(r.id) ? ' class="mine"' : ""}>` +
        `<td>#${r.id}${state.mine.has(r.id) ? " (yours)" : ""}</td>` +
        `<td>#${r.modelId}</td>` +
        `<td class="mono" title="${r.requester}">${short(r.requester)}</td>` +
        `<td data-field="status" class="status-${STATUS[Number(r.status)].toLowerCase()}">${STATUS[Number(r.status)]}</td>` +
        `<td data-field="timeline">${timeline(r)}</td>` +
        `<td data-field="validator" class="mono" data-address="${r.validator ?? r.claimer ?? ""}">${r.validator ? short(r.validator) : r.claimer ? `${short(r.claimer)} (claimed)` : "–"}</td>` +
        `<td data-field="gas" data-gas="${r.gasPerInference ?? ""}">${r.gasPerInference !== undefined ? r.gasPerInference.toLocaleString("en-US") + (r.batchSize! > 1 ? ` (batch of ${r.batchSize})` : "") : "–"}</td>` +
        `<td data-field="class" class="class">${cls}</td>` +
        `<td data-field="logits">${decoded.logits ? logitBars(decoded.logits, decoded.predicted) : "–"}</td>` +
        `<td data-field="attestation">${attestation}</td>` +
        `</tr>`
      );
    })
    .join("");
  if (rows.length === 0) $("request-rows").innerHTML = `<tr><td colspan="10" class="note">no request yet</td></tr>`;
}

async function renderMarket(): Promise<void> {
  const feed = state.feed!;
  const chain = state.chain!;
  const all = [...feed.requests.values()];
  const settled = all.filter((r) => r.settledAt !== undefined);
  const gas = settled.filter((r) => r.gasPerInference !== undefined).map((r) => Number(r.gasPerInference));
  const meanGas = gas.length ? Math.round(gas.reduce((a, b) => a + b, 0) / gas.length) : undefined;
  const token = state.config!.deployment.token;
  const [escrowed] = await chain.market.feeAccounts(token);
  const tokenModel = state.models.find((m) => m.feeToken.toLowerCase() === token.toLowerCase());
  const count = (s: bigint) => all.filter((r) => r.status === s).length;
  const totals: [string, string, string][] = [
    ["requests", "requests", String(all.length)],
    ["open", "open or claimed", String(count(RequestStatus.Open) + count(RequestStatus.Claimed))],
    ["settled", "settled", String(settled.length)],
    ["refunded", "refunded", String(count(RequestStatus.Refunded))],
    ["escrowed", "escrowed now", amount(escrowed, tokenModel)],
    ["gas", "mean gas per inference", meanGas !== undefined ? meanGas.toLocaleString("en-US") : "–"],
  ];
  $("market-totals").innerHTML = totals
    .map(([key, label, value]) => `<div data-total="${key}"><dt>${label}</dt><dd>${esc(value)}</dd></div>`)
    .join("");
  const now = (await chain.provider.getBlock("latest"))!.timestamp;
  $("market-charts").innerHTML =
    barChart(
      "requests per minute (block time, UTC)",
      perMinute(
        all.map((r) => r.requestedAt),
        now,
        CHART_MINUTES,
      ),
      "requests",
      2,
    ) +
    barChart(
      "settled per minute (block time, UTC)",
      perMinute(
        settled.map((r) => r.settledAt!),
        now,
        CHART_MINUTES,
      ),
      "settled",
      2,
    ) +
    barChart(
      "gas per inference, by request",
      settled
        .filter((r) => r.gasPerInference !== undefined)
        .slice(-20)
        .map((r) => ({ label: `#${r.id}`, value: Number(r.gasPerInference) })),
      "gas",
    );
  $("validator-rows").innerHTML =
    [...feed.validators.values()]
      .map(
        (v) =>
          `<tr data-validator="${v.address}"><td class="mono">${v.address}</td>` +
          `<td data-field="stake">${esc(amount(v.stake, tokenModel))}</td>` +
          `<td>${esc(amount(v.bonded, tokenModel))}</td><td>${esc(amount(v.unbonding, tokenModel))}</td>` +
          `<td data-field="settled">${v.settled}</td></tr>`,
      )
      .join("") || `<tr><td colspan="5" class="note">no validator has staked yet</td></tr>`;
}

let refreshing: Promise<void> | undefined;
/** Reads what is new on the chain and redraws what it changes (one read at a time). */
function refresh(): Promise<void> {
  refreshing ??= (async () => {
    try {
      const chain = state.chain!;
      if (await state.feed!.update()) {
        state.models = await readModels(chain, state.config!);
        renderModels();
        renderRequests();
        await renderMarket();
      }
      const block = await chain.provider.getBlockNumber();
      setStatus(
        $("chain-status"),
        `chain ${chain.chainId} at ${chain.rpcUrl} · block ${block} · market ${state.config!.deployment.market} (${state.config!.deployment.file})`,
      );
    } catch (err) {
      setStatus($("chain-status"), `lost the chain: ${shortError(err)}`, "error");
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

async function start(): Promise<void> {
  const response = await fetch("app-config.json");
  if (!response.ok) throw new Error(`the app server cannot read its configuration: ${await response.text()}`);
  const config = (await response.json()) as AppConfig;
  state.config = config;
  const chain = await connectChain(config, new URLSearchParams(location.search).get("rpc"));
  state.chain = chain;
  state.feed = new MarketFeed(chain, config.deployment.deployedAtBlock);
  state.payers = developmentPayers(chain);
  const injected = await injectedPayer(chain);
  if (injected) state.payers.push(injected);
  const accounts = $<HTMLSelectElement>("account-select");
  accounts.innerHTML = state.payers
    .map((p, i) => `<option value="${i}">${esc(p.label)} ${short(p.address)}</option>`)
    .join("");
  if (state.payers.length > 1 && state.payers[1].development) accounts.value = "1";
  state.models = await readModels(chain, config);
  renderModels();
  await refresh();
  await showBalance();

  const pad = new DrawPad($<HTMLCanvasElement>("draw"), () => {
    const pixels = pad.pixels();
    if (pixels) setInput(pixels, "drawn on the canvas");
  });
  $("clear").addEventListener("click", () => pad.clear());
  $("pick-digit").addEventListener("click", () => void pickDigit(Number($<HTMLInputElement>("digit-index").value)));
  $("random-digit").addEventListener("click", () => void pickDigit(Math.floor(Math.random() * 1000)));
  const balance = () =>
    showBalance().catch((err: unknown) =>
      setStatus($("post-status"), `cannot read the balance: ${shortError(err)}`, "error"),
    );
  $("model-select").addEventListener("change", () => {
    showPrediction();
    void balance();
  });
  accounts.addEventListener("change", () => void balance());
  $("mint").addEventListener("click", () => void mintTokens());
  $("post").addEventListener("click", () => void post());
  $("attest").addEventListener("click", () => void attest());
  $("request-rows").addEventListener("click", (e) => {
    const id = (e.target as HTMLElement).dataset.check;
    const r = id !== undefined ? state.feed!.requests.get(BigInt(id)) : undefined;
    if (!r) return;
    (e.target as HTMLButtonElement).disabled = true;
    state
      .feed!.checkAttestation(r)
      .then(renderRequests, (err: unknown) =>
        setStatus($("post-status"), `attestation check of #${r.id} failed: ${shortError(err)}`, "error"),
      );
  });
  setInterval(() => void refresh(), config.pollSeconds * 1000);
  document.body.dataset.ready = "true";
}

start().catch((err: unknown) => {
  setStatus($("chain-status"), shortError(err), "error");
  document.body.dataset.ready = "failed";
});
