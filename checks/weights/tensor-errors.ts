/**
 * Thrown by a TensorStatsProvider when a safetensors header describes tensor data that cannot be read as
 * described (offsets outside the file, a byte length that disagrees with shape × dtype, ...). Weight checks turn
 * it into a FILE_MALFORMED finding; any other error means the data could not be read and the check errors.
 */
export class MalformedTensorError extends Error {
  override name = 'MalformedTensorError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

export function isMalformedTensorError(e: unknown): e is MalformedTensorError {
  return e instanceof MalformedTensorError || (e instanceof Error && e.name === 'MalformedTensorError');
}

/**
 * Thrown by a TensorStatsProvider for a tensor it cannot compute statistics of although nothing is wrong with the
 * file (an integer or quantised dtype, a shape that is not a matrix). Weight checks skip with the message.
 */
export class UnsupportedTensorError extends Error {
  override name = 'UnsupportedTensorError';
}

export function isUnsupportedTensorError(e: unknown): e is UnsupportedTensorError {
  return e instanceof Error && e.name === 'UnsupportedTensorError';
}
