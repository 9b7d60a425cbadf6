import * as $rt from "ppp2p/runtime";
// A module without checkpoints: only the runtime registrations are added.
export class Point {
    x;
    y;
    constructor(x, y) {
        this.x = x;
        this.y = y;
    }
}
$rt.registerClass(Point, "no-sites.ts#Point");
export function norm(p) {
    return Math.hypot(p.x, p.y);
}
$rt.registerExport(norm, import.meta.url, "norm");
function helper() {
    return 1;
}
export { helper as one };
$rt.registerExport(helper, import.meta.url, "one");
//# sourceMappingURL=no-sites.js.map