/** org.freedesktop.import1.Transfer: one object per running transfer, resolved per call. */
import { IMPORT1_TRANSFER, Import1Actions, type Authorizer, type ServedInterface } from '@machined/protocol';
import type { Transfer } from '../transfer/transfer.js';

export function transferInterface(t: Transfer, authorizer: Authorizer): ServedInterface {
  return {
    spec: IMPORT1_TRANSFER,
    methods: {
      async Cancel(ctx) {
        await authorizer.authorize(ctx, Import1Actions.pull, {});
        t.cancel();
        return [];
      },
    },
    properties: {
      Id: () => t.id,
      Local: () => t.info.local,
      Remote: () => t.info.remote,
      Type: () => t.info.type,
      Verify: () => t.info.verify,
      Progress: () => t.progress,
    },
  };
}
