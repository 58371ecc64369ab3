/**
 * The emulator's own controls (docs/adr/0004-emulator-fidelity.md), for tests and the bench.
 * Not AWS: real EC2 has no such tag.
 */

/**
 * The emulator-only snapshot tag: the PlatformDetails (billing) an image registered from this
 * root snapshot gets, standing in for the billing metadata EC2 reads from a real snapshot
 * ("Windows", "Red Hat Enterprise Linux", "SUSE Linux", …; empty: none). Untagged: "Linux/UNIX".
 */
export const PLATFORM_DETAILS_TAG = 'emulator:platform-details';
