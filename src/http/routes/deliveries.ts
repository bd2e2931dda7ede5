import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeliveryList, errorResponses, JobIdParams, RedeliverResult } from '../../api/schemas.js';
import type { DeliveriesService } from '../../services/deliveries.js';
import { requireUser } from '../plugins/auth.js';

/** A job's callback delivery log, and asking for one more delivery. */
export interface DeliveriesRoutesOptions {
  deliveries: DeliveriesService;
}

export const deliveriesRoutes: FastifyPluginAsyncTypebox<DeliveriesRoutesOptions> = async (
  app,
  { deliveries },
) => {
  const tags = ['jobs'];
  const security = [{ bearerAuth: [] }];
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/v1/jobs/:id/deliveries',
    {
      schema: {
        tags,
        security,
        summary: "The job's callback delivery attempts, newest first",
        params: JobIdParams,
        response: { 200: DeliveryList, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => ({ deliveries: await deliveries.list(requireUser(request).id, request.params.id) }),
  );

  app.post(
    '/v1/jobs/:id/deliveries/redeliver',
    {
      schema: {
        tags,
        security,
        summary: "Deliver the finished job's callback once more (with the usual retries)",
        params: JobIdParams,
        response: { 202: RedeliverResult, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deliveries.redeliver(requireUser(request).id, request.params.id);
      return reply.code(202).send({ queued: true as const });
    },
  );
};
