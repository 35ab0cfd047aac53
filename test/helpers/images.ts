// A fetched image for unit tests: an available Ubuntu 22.04 public image, any field overridden.
import type { FetchedImage } from "../../lib/model.ts";

export function fetchedImage(id: string, over: Partial<FetchedImage> = {}): FetchedImage {
  return {
    imageId: id,
    name: `Ubuntu ${id}`,
    description: null,
    osType: "linux",
    osFamily: "ubuntu",
    osVersion: "22.04",
    architecture: "x86_64",
    imageType: "public",
    family: null,
    status: "AVAILABLE",
    available: true,
    unusable: null,
    sizeGiB: 20,
    createdAt: null,
    raw: { imageId: id, imageStatus: "AVAILABLE" },
    ...over,
  };
}
