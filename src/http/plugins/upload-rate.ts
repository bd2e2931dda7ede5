import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * A minimum upload rate: a request whose body arrives slower than `minBytesPerSecond`, measured
 * over each window of `windowMs`, is cut off (a 408 written straight to the socket, as Node does
 * for its own request timeout, then the connection is closed). A body sent at 1 byte every 4 s
 * ends within two windows instead of holding a connection, a file and a handler for hours; a slow
 * but real link (a 4 GiB video over a 200 kB/s line) is far above the floor.
 *
 * It counts the socket's bytes (`socket.bytesRead`), never touching the request stream, so it
 * works the same for JSON bodies, multipart uploads and anything else. It stops once the body is
 * complete: the time the server then takes (ffprobe, inference) is not the client's.
 */

const CUT_OFF = Symbol('uploadCutOff');

/** Was this request cut off for being too slow? (Its handler then fails; nothing more is sent.) */
export function wasCutOff(request: FastifyRequest): boolean {
  return (request.raw as IncomingMessage & { [CUT_OFF]?: boolean })[CUT_OFF] === true;
}

/** Does the request announce a body? (Content-Length above 0, or chunked.) Pure. */
export function hasBody(headers: IncomingMessage['headers']): boolean {
  const length = headers['content-length'];
  if (length !== undefined) return /^\d+$/.test(length) && Number(length) > 0;
  return headers['transfer-encoding'] !== undefined;
}

export function registerUploadRateGuard(
  app: FastifyInstance,
  opts: { minBytesPerSecond: number; windowMs: number },
): void {
  if (opts.minBytesPerSecond <= 0) return;
  const minPerWindow = (opts.minBytesPerSecond * opts.windowMs) / 1000;
  const message = `The request body arrived slower than ${opts.minBytesPerSecond} bytes a second, so it was cut off.`;
  const body = JSON.stringify({ error: { code: 'UPLOAD_TOO_SLOW', message } });

  app.addHook('onRequest', (request, reply, done) => {
    const req = request.raw;
    const socket = req.socket;
    if (!hasBody(req.headers) || !socket) return done();
    let seen = socket.bytesRead;
    const timer = setInterval(() => {
      if (req.complete || socket.destroyed) return clearInterval(timer);
      const now = socket.bytesRead;
      if (now - seen >= minPerWindow) {
        seen = now;
        return;
      }
      clearInterval(timer);
      (req as IncomingMessage & { [CUT_OFF]?: boolean })[CUT_OFF] = true;
      request.log.info(
        { bytes: now - seen, windowMs: opts.windowMs },
        'cut off a request body that arrived too slowly',
      );
      // as Node answers its own request timeout: the response written straight to the socket
      // (the handler, still reading the body, fails once the socket is gone), then closed
      if (!reply.raw.headersSent && socket.writable) {
        socket.write(
          'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n' +
            `x-request-id: ${request.id}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    }, opts.windowMs);
    timer.unref();
    req.once('end', () => clearInterval(timer));
    req.once('close', () => clearInterval(timer));
    done();
  });
}
