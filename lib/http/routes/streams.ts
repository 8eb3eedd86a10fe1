import type { ServerResponse } from 'node:http';
import type { AppContext, RequestScope } from '../context';
import { sendError, sendJson } from '../respond';

export const STREAM_CONFIGS_PATH = '/v1/stream-configs';

/** GET /v1/stream-configs[/:streams]: the stream configs in use; names separated by `,` or `|`. */
export function streamConfigs(app: AppContext, res: ServerResponse, scope: RequestScope, names: string | undefined): void {
  if (!app.streams) {
    return sendError(res, scope, 'EG_ERR_NOT_FOUND', 'No stream config is configured (stream_config_uri): any schema may go to any stream.');
  }
  if (names === undefined) return sendJson(res, 200, undefined, scope, app.streams.all());
  let decoded: string;
  try {
    decoded = decodeURIComponent(names);
  } catch {
    return sendError(res, scope, 'EG_ERR_NOT_FOUND', 'Stream names are not valid URI text.');
  }
  const list = decoded.split(/[,|]/).filter((n) => n.length > 0);
  sendJson(res, 200, undefined, scope, app.streams.select(list));
}
