"""fer_edge.edge"""
