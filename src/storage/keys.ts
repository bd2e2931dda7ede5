/**
 * Storage keys the service makes (never from user input). A job's files: its video at
 * `videos/<jobId>`, its annotated videos under `renders/<jobId>/` (removed with the job).
 */
export const renderFolder = (jobId: string): string => `renders/${jobId}`;
export const renderKey = (jobId: string, renderId: string): string =>
  `${renderFolder(jobId)}/${renderId}.mp4`;
