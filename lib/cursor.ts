/** Opaque page cursors: the id of a list's last item, tagged with the list it belongs to. */
import { AppError } from './errors.ts';

/** The cursor that continues `list` after the item with this id. */
export function encodeCursor(list: string, id: number): string {
  return Buffer.from(`${list}:${id}`).toString('base64url');
}

/**
 * The id a cursor continues after. Throws AppError('bad_request') for anything that is not a cursor this list gave
 * out (malformed, tampered with, or another list's).
 */
export function decodeCursor(list: string, cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const m = /^([a-z]+):(\d{1,15})$/.exec(
    /^[A-Za-z0-9_-]*$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '',
  );
  if (!m || m[1] !== list)
    throw new AppError('bad_request', `cursor ${JSON.stringify(cursor.slice(0, 60))} is not a ${list} cursor`, {
      allowedValues: [`the nextCursor (or links.next) of a previous page of ${list}`],
    });
  return Number(m[2]);
}
