import { renderHostScript } from "./hostScript";

/**
 * An app image's own `VOLUME`s besides /data (where the uploads volume is mounted). Podman gives
 * every container an anonymous volume at each path its image declares and no mount covers
 * (containers/podman pkg/specgen/generate/storage.go getImageVolumes and finalizeMounts: a user
 * volume at the same destination supersedes the image's). The provider never removes them
 * (components/hostResources.ts ownedContainer, `removeVolumes: false`), nor does the standby's
 * `podman rm`: each replacement would leave one behind, holding whatever the app wrote there. So each
 * declared path is mounted from a named volume of the stack (config key `appImageVolumes`), or the
 * deploy stops before any container changes (host/app-image-volumes.sh).
 */
export const APP_IMAGE_VOLUMES_KEY = "appImageVolumes";

/** Where the uploads volume is mounted; not an image volume's path. */
export const UPLOADS_PATH = "/data";

/** A path of the image's, mounted from a named volume of the stack. */
export interface AppImageVolume {
    readonly path: string;
    readonly volume: string;
}

/** What comes between the app container's name and a path's words in the name of its volume. */
export const IMAGE_VOLUME_INFIX = "-vol-";

/**
 * The volume mounted at `path` in the app container `appContainer`: derived from the container's name
 * (fixed per environment, lib/environments.ts), so no environment's name can be another's:
 * `seaser-rezept-tagebuch-dev-vol-var-lib-app-cache` for dev's /var/lib/app-cache.
 */
export function imageVolumeName(appContainer: string, path: string): string {
    return `${appContainer}${IMAGE_VOLUME_INFIX}${path.slice(1).replaceAll("/", "-")}`;
}

/** A path component as a volume name may hold it (lib/config.ts resourceName's characters), not `.` or `..`. */
const COMPONENT = /^(?!\.{1,2}$)[A-Za-z0-9_.-]+$/;

/**
 * Problems of the configured paths, one phrase each (the config names the key and the fix): each an
 * absolute path written as Podman cleans it (filepath.Clean: no trailing `/`, `//`, `.` or `..`, so it
 * matches the image's entry), not /data or below it, not `/`, each once, and no two given one volume name.
 */
export function imageVolumePathProblems(paths: readonly string[], appContainer: string): string[] {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const path of paths) {
        const components = path.split("/").slice(1);
        if (!path.startsWith("/") || path === "/" || !components.every((c) => COMPONENT.test(c))) {
            problems.push(`has ${JSON.stringify(path)}, which is not an absolute path of letters, digits, '_', '.', '-' between single '/' (no trailing '/', '.' or '..': write it as the image's VOLUME line does)`);
            continue;
        }
        if (path === UPLOADS_PATH || path.startsWith(`${UPLOADS_PATH}/`)) {
            problems.push(`has ${path}: ${UPLOADS_PATH} is the uploads volume's (appDataVolume), which covers everything below it`);
            continue;
        }
        const volume = imageVolumeName(appContainer, path);
        const other = seen.get(volume);
        if (other === path) problems.push(`has ${path} twice`);
        else if (other !== undefined) problems.push(`has ${other} and ${path}, which would share one volume (${volume})`);
        seen.set(volume, path);
    }
    return problems;
}

/** What the check before an app deploy needs. */
export interface ImageVolumeCheckSpec {
    readonly stack: string;
    /** The image reference, as configured (named in the message). */
    readonly image: string;
    /** The id RemoteImage resolved it to on the host: what the container will run. */
    readonly imageId: string;
    /** The configured paths (appImageVolumes). */
    readonly paths: readonly string[];
}

/**
 * The check `pulumi up` runs once the app's image is on the host and before its standby or container
 * (host/app-image-volumes.sh): it fails, naming each path and the key, when the image declares a
 * VOLUME outside /data that appImageVolumes does not list. The docker provider cannot tell: its
 * RemoteImage and getRegistryImage give only ids, name and digests (@pulumi/docker 5.2.0
 * remoteImage.d.ts, getRegistryImage.d.ts), so the host's Podman is asked.
 */
export function renderImageVolumeCheck(spec: ImageVolumeCheckSpec): string {
    return renderHostScript("app-image-volumes.sh", {
        stack: spec.stack, image: spec.image, image_id: spec.imageId, key: APP_IMAGE_VOLUMES_KEY,
        mounted: [UPLOADS_PATH, ...spec.paths].join("\n"),
    });
}
