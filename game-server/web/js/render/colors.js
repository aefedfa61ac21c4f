// Cell colours: index = board cell value (1-7 = I J L O S T Z, 8 garbage).
export const COLORS = [null, '#22d3ee', '#3b82f6', '#f97316', '#facc15', '#22c55e', '#a855f7', '#ef4444', '#6b7280'];
export const TYPE_INDEX = { I: 1, J: 2, L: 3, O: 4, S: 5, T: 6, Z: 7 };
