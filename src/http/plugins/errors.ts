import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { wasCutOff } from './upload-rate.js';

/**
 * Every error leaves as `{ error: { code, message } }` with one sentence: AppError as it is,
 * Fastify's validation and body errors and multipart limits translated, anything else a 500
 * "Internal server error." (the stack is logged, never sent).
 */

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/** One Ajv error as a sentence: "body/username must be a string." */
export function validationSentence(context: string | undefined, errors: AjvError[]): string {
  const e = errors[0];
  if (!e) return 'The request is invalid.';
  const where = `${context ?? 'request'}${e.instancePath}`;
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return `${where}/${String(p.missingProperty)} is required.`;
    case 'additionalProperties':
      return `${where} has an unknown property ${JSON.stringify(String(p.additionalProperty).slice(0, 64))}.`;
    case 'type': {
      const t = String(p.type).split(',')[0];
      return `${where} must be ${t === 'null' ? 'null' : article(t)}.`;
    }
    case 'minLength':
      return `${where} must be at least ${p.limit} characters long.`;
    case 'maxLength':
      return `${where} must be at most ${p.limit} characters long.`;
    case 'pattern':
      return `${where} contains characters that are not allowed.`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${where} must be ${String(p.comparison)} ${String(p.limit)}.`;
    case 'format':
      return `${where} must be a valid ${String(p.format)}.`;
    case 'enum':
    case 'const':
    case 'anyOf':
      return `${where} has a value that is not allowed.`;
    default:
      return `${where} ${e.message ?? 'is invalid'}.`;
  }
}

type Mapped = { status: number; code: string; message: string };

/**
 * The multipart parser's own errors (a missing boundary, a form that ends mid-part, a broken part
 * header) are plain Errors without a code: recognised by their text. Pure.
 */
export function isMalformedMultipart(err: { message?: unknown; code?: unknown }): boolean {
  if (err.code !== undefined) return false;
  const m = typeof err.message === 'string' ? err.message : '';
  return /^(Multipart: Boundary not found|Boundary required|Unexpected end of (multipart data|form)|Part terminated early|Malformed part header|Unsupported Content-Type|Missing Content-Type)/i.test(
    m,
  );
}

function mapFastifyError(err: FastifyError, bodyLimit: number): Mapped | undefined {
  if (err.validation) {
    return {
      status: 400,
      code: 'VALIDATION_ERROR',
      message: validationSentence(err.validationContext, err.validation as unknown as AjvError[]),
    };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: `The request body is larger than the ${bodyLimit} bytes allowed.`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The request body has a content type this endpoint does not accept.',
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'INVALID_JSON',
        message: 'The request body is empty but the content type is JSON.',
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'INVALID_JSON', message: 'The request body is not valid JSON.' };
    case 'FST_REQ_FILE_TOO_LARGE':
      return {
        status: 413,
        code: 'UPLOAD_TOO_LARGE',
        message: 'The uploaded file is larger than this server accepts.',
      };
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return {
        status: 413,
        code: 'TOO_MANY_PARTS',
        message: 'The form has more fields or files than this endpoint accepts.',
      };
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The request must be multipart/form-data.',
      };
    case 'FST_PROTO_VIOLATION':
      return { status: 400, code: 'INVALID_OPTION', message: 'A form field has a name that is not allowed.' };
    case 'FST_MP_PREMATURE_CLOSE':
      return {
        status: 400,
        code: 'UPLOAD_INCOMPLETE',
        message: 'The upload ended before the form was complete.',
      };
  }
  if (isMalformedMultipart(err)) {
    return {
      status: 400,
      code: 'MALFORMED_MULTIPART',
      message: 'The request body is not a well-formed multipart/form-data form.',
    };
  }
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return { status: 400, code: 'INVALID_JSON', message: 'The request body is not valid JSON.' };
  }
  const status = err.statusCode;
  if (status && status >= 400 && status < 500) {
    return { status, code: 'BAD_REQUEST', message: 'The request could not be processed.' };
  }
  return undefined;
}

export function registerErrorHandler(app: FastifyInstance, opts: { bodyLimit: number }): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (wasCutOff(request)) {
      // the upload-rate guard already answered 408 on the socket and closed it
      request.log.info({ code: 'UPLOAD_TOO_SLOW' }, 'the request was cut off for a body arriving too slowly');
      return reply.code(408).send();
    }
    let mapped: Mapped | undefined;
    if (err instanceof AppError) mapped = { status: err.statusCode, code: err.code, message: err.message };
    else mapped = mapFastifyError(err, opts.bodyLimit);
    if (!mapped) {
      request.log.error({ err }, 'unhandled error');
      mapped = { status: 500, code: 'INTERNAL', message: 'Internal server error.' };
    } else if (mapped.status >= 500) {
      request.log.error({ err }, 'server error');
    } else {
      request.log.info({ code: mapped.code, status: mapped.status }, mapped.message);
    }
    if (reply.sent) return;
    const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    // a response to an upload that failed early: tell the client we will not read the rest
    return reply
      .code(mapped.status)
      .type('application/json; charset=utf-8')
      .send({ error: { code: mapped.code, message: mapped.message } });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0].slice(0, 200);
    return reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send({ error: { code: 'NOT_FOUND', message: `There is no route ${request.method} ${path}.` } });
  });
}
