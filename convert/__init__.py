"""fer_edge.convert"""
