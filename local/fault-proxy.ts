/**
 * Faults the emulator does not produce by itself (5xx, authorization, image states, lost
 * answers, throttling at a chosen call), injected at the HTTP level: a loopback proxy in front
 * of moto that answers chosen EC2 actions with a scripted response a number of times, and
 * forwards everything else.
 */
import { createServer, type Server } from 'node:http';

/** Which requests a fault meets, and how many of them. */
interface FaultMatch {
  /** The EC2 Action (RegisterImage) or the API as counted (`SQS.DeleteMessage`). */
  action: string;
  /** Only requests with (true) or without (false) DryRun=true; both when absent. */
  dryRun?: boolean;
  /** Only requests whose body holds this text (one of several UpdateItems of a workflow: `SET distribution`). */
  bodyIncludes?: string;
  /** How many matching requests get the fault. */
  times: number;
  /** Let this many matching requests through first (the claim, say, before the write that should fail). */
  skip?: number;
}

/** An answer of the proxy's own instead of the emulator's. */
export interface AnsweredFault extends FaultMatch {
  status: number;
  body: string;
  /** Answer only after this long: an operation still in progress. */
  delayMs?: number;
  /** Send the request on to the emulator first, then answer with the fault: the call happened, its answer was lost. */
  forward?: boolean;
}

/** A slow call, not a wrong one: the emulator's own answer, after the delay. */
export interface SlowFault extends FaultMatch {
  slowOnly: true;
  delayMs: number;
}

export type Fault = AnsweredFault | SlowFault;

export function ec2Error(code: string, message = code): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>fault-injected</RequestID></Response>`;
}

/** A DynamoDB error answer (AWS JSON 1.0) of the given type: `ProvisionedThroughputExceededException`, `InternalServerError`, … */
export function dynamoDbError(type: string, message = type): string {
  return JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
}

/** EC2 refusing an action for want of permission: a permanent fault, never retried. */
export function unauthorized(action: string, extra: Partial<AnsweredFault> = {}): Fault {
  return {
    action,
    times: 1,
    status: 403,
    body: ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'),
    ...extra,
  };
}

/** DescribeImages answering, slowly, that an image is still pending: a registration that waits. */
export function stillPending(times: number, delayMs = 100): Fault {
  return {
    action: 'DescribeImages',
    times,
    delayMs,
    status: 200,
    body: describeImagesBody('ami-0000000000000abcd', 'pending'),
  };
}

/** A DescribeImages answer that names no image: what an eventually consistent read may give at first. */
export function noImagesBody(): string {
  return '<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><imagesSet/></DescribeImagesResponse>';
}

/** A DescribeImages answer naming one image in `state`, with an optional state reason. */
export function describeImagesBody(
  imageId: string,
  state: string,
  reason?: { code: string; message: string },
): string {
  const stateReason = reason
    ? `<stateReason><code>${reason.code}</code><message>${reason.message}</message></stateReason>`
    : '';
  return `<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><imagesSet><item><imageId>${imageId}</imageId><imageState>${state}</imageState>${stateReason}</item></imagesSet></DescribeImagesResponse>`;
}

export interface FaultProxy {
  endpoint: string;
  inject(fault: Fault): void;
  /** Drops every fault not yet used up. */
  clear(): void;
  /** How many requests of each API (`EC2.RegisterImage`, `DynamoDB.UpdateItem`, …) reached the proxy. */
  calls: Map<string, number>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const faults: Fault[] = [];
  const calls = new Map<string, number>();
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const text = body.toString();
    const params = new URLSearchParams(text);
    const action = params.get('Action') ?? '';
    // Query-protocol APIs (EC2, SNS) name the action in the body; JSON ones in X-Amz-Target.
    const amzTarget = String(request.headers['x-amz-target'] ?? '');
    const api = amzTarget
      ? amzTarget.replace(/^DynamoDB_\d+\./, 'DynamoDB.').replace(/^AmazonSQS\./, 'SQS.')
      : action && `${params.has('TopicArn') ? 'SNS' : 'EC2'}.${action}`;
    calls.set(api, (calls.get(api) ?? 0) + 1);
    const dryRun = params.get('DryRun') === 'true';
    const fault = faults.find(
      (f) =>
        f.times > 0 &&
        (f.action === action || f.action === api) &&
        (f.dryRun === undefined || f.dryRun === dryRun) &&
        (f.bodyIncludes === undefined || text.includes(f.bodyIncludes)),
    );
    const forward = () =>
      fetch(`${target}${request.url ?? '/'}`, {
        method: request.method ?? 'POST',
        headers: Object.fromEntries(
          Object.entries(request.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
        ) as Record<string, string>,
        body: request.method === 'GET' ? undefined : body,
      });
    if (fault && (fault.skip ?? 0) > 0) fault.skip = (fault.skip ?? 0) - 1;
    else if (fault) {
      fault.times -= 1;
      if (!('slowOnly' in fault) && fault.forward) await (await forward()).arrayBuffer();
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (!('slowOnly' in fault)) {
        response.writeHead(fault.status, { 'content-type': 'text/xml' }).end(fault.body);
        return;
      }
    }
    const upstream = await forward();
    const headers = Object.fromEntries(
      [...upstream.headers].filter(
        ([k]) => k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding',
      ),
    );
    response.writeHead(upstream.status, headers).end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (fault) => faults.push(fault),
    clear: () => faults.splice(0),
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
