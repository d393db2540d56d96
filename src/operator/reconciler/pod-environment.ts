/**
 * How the operator's pods run: the user they run as and where their scratch space is. The
 * environment the runtime reads is declared by the runtime (src/runtime/pod-environment.ts).
 */


/** The user and group the containers run as: the image's `nonroot` user. */
export const podUserId = 65532;

/** Where the writable scratch directory is mounted (the root filesystem is read-only). */
export const scratchMountPath = '/tmp';
