import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/**
 * Request validation with two Ajv instances: JSON bodies are validated strictly (no type
 * coercion: `{"username": 123}` is a 400, not "123"; unknown properties are rejected, not
 * silently removed), while querystring, params and headers, which are always strings on the wire,
 * are coerced to their schema types.
 */
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    coerceTypes: coerce ? 'array' : false,
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

export function registerValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const loose = makeAjv(true);
  const added = new Set<string>();
  app.setValidatorCompiler(({ schema, httpPart }) => {
    // shared schemas (app.addSchema) so $ref works in request schemas too
    for (const [id, s] of Object.entries(app.getSchemas())) {
      if (added.has(id)) continue;
      added.add(id);
      strict.addSchema(s as object, id);
      loose.addSchema(s as object, id);
    }
    const ajv = httpPart === 'body' ? strict : loose;
    const fn: ValidateFunction = ajv.compile(schema as object);
    return fn;
  });
}
